import { http, HttpResponse } from 'msw';
import { afterEach, describe, expect, it } from 'vitest';

import { ApiError, client, data, setUnauthorizedHandler } from '@/api/client';
import { setToken } from '@/lib/auth-token';
import { API } from '@/testing/mocks/handlers';
import { server } from '@/testing/setup-tests';

afterEach(() => {
  setUnauthorizedHandler(null);
  setToken(null);
});

describe('the typed API client', () => {
  it('sends the token and the query as the API reads it', async () => {
    let seen: { url: URL; auth: string | null } | null = null;
    server.use(
      http.get(`${API}/owner/campaigns/messaging/customers`, ({ request }) => {
        seen = { url: new URL(request.url), auth: request.headers.get('Authorization') };
        return HttpResponse.json({
          items: [],
          pagination: { total_count: 0, max_page: 1 },
          next_cursor: null,
        });
      }),
    );
    setToken('token-1');
    const page = await data(
      client.GET('/owner/campaigns/messaging/customers', {
        params: { query: { place_ids: [2, 5], filter_by: 'all', search: '', page: 1 } },
      }),
    );
    expect(page.pagination.total_count).toBe(0);
    expect(seen!.auth).toBe('Bearer token-1');
    // Arrays repeat their key; an empty search is left out.
    expect(seen!.url.search).toBe('?place_ids=2&place_ids=5&filter_by=all&page=1');
  });

  it('turns an error answer into an ApiError naming the fields', async () => {
    server.use(
      http.patch(`${API}/owner/campaigns/:id`, () =>
        HttpResponse.json(
          {
            error: 'ValidationError',
            detail: 'The request is not valid.',
            errors: [{ field: 'messaging_config.email_subject', message: 'too long' }],
          },
          { status: 422 },
        ),
      ),
    );
    const call = data(
      client.PATCH('/owner/campaigns/{campaign_id}', {
        params: { path: { campaign_id: 7 } },
        body: { name: 'x' },
      }),
    );
    const error = await call.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(422);
    expect((error as ApiError).message).toBe('The request is not valid.');
    expect((error as ApiError).forField('messaging_config')).toBe('too long');
  });

  it('reports an expired login once, and only for a logged-in request', async () => {
    let expired = 0;
    setUnauthorizedHandler(() => (expired += 1));
    server.use(
      http.get(`${API}/auth/me`, () =>
        HttpResponse.json({ error: 'Unauthorized', detail: 'Log in again.' }, { status: 401 }),
      ),
    );
    await expect(data(client.GET('/auth/me'))).rejects.toThrow('Log in again.');
    expect(expired).toBe(0);
    setToken('token-1');
    await expect(data(client.GET('/auth/me'))).rejects.toThrow('Log in again.');
    expect(expired).toBe(1);
  });

  it('says so when the server cannot be reached', async () => {
    server.use(http.get(`${API}/owner/places`, () => HttpResponse.error()));
    await expect(data(client.GET('/owner/places'))).rejects.toMatchObject({
      code: 'NetworkError',
      message: 'Rebook cannot be reached. Check your connection.',
    });
  });
});
