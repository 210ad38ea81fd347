import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http, HttpResponse } from 'msw';
import { createMemoryRouter, RouterProvider } from 'react-router';
import { describe, expect, it } from 'vitest';

import { AppProvider } from '@/app/provider';
import { routes } from '@/app/router';
import { makeQueryClient } from '@/lib/query-client';
import { API } from '@/testing/mocks/handlers';
import { server } from '@/testing/setup-tests';

function renderApp(path: string) {
  const router = createMemoryRouter(routes, { initialEntries: [path] });
  const queryClient = makeQueryClient();
  render(
    <AppProvider queryClient={queryClient}>
      <RouterProvider router={router} />
    </AppProvider>,
  );
  return { router, user: userEvent.setup() };
}

describe('login and session', () => {
  it('logs in and returns to the page asked for', async () => {
    server.use(
      http.post(`${API}/auth/login`, async ({ request }) => {
        const form = new URLSearchParams(await request.text());
        if (form.get('password') !== 'rebook-demo')
          return HttpResponse.json(
            { error: 'Unauthorized', detail: 'Incorrect email or password.' },
            { status: 401 },
          );
        return HttpResponse.json({ access_token: 'token-1', token_type: 'bearer' });
      }),
      http.get(`${API}/owner/campaigns`, () =>
        HttpResponse.json({
          items: [],
          pagination: { total_count: 0, max_page: 1, page: 1, limit: 20 },
        }),
      ),
    );
    const { router, user } = renderApp('/outbox');
    expect(await screen.findByRole('button', { name: 'Log in' })).toBeInTheDocument();
    expect(router.state.location.search).toBe('?next=%2Foutbox');
    await user.click(screen.getByRole('button', { name: 'Log in' }));
    expect(screen.getByText('Enter the email address you registered with.')).toBeInTheDocument();

    await user.type(screen.getByLabelText('Email'), 'demo@rebook.test');
    await user.type(screen.getByLabelText('Password'), 'wrong');
    await user.click(screen.getByRole('button', { name: 'Log in' }));
    expect(
      await screen.findByText('That email and password do not match an owner account.'),
    ).toBeInTheDocument();

    await user.clear(screen.getByLabelText('Password'));
    await user.type(screen.getByLabelText('Password'), 'rebook-demo');
    server.use(
      http.get(`${API}/owner/outbox`, () =>
        HttpResponse.json({
          items: [],
          pagination: { total_count: 0, max_page: 1, page: 1, limit: 25 },
        }),
      ),
    );
    await user.click(screen.getByRole('button', { name: 'Log in' }));
    expect(await screen.findByRole('heading', { name: 'Outbox', level: 1 })).toBeInTheDocument();
    expect(screen.getByTestId('owner-name')).toHaveTextContent('Dana Demo');
    expect(window.localStorage.getItem('rebook.token')).toBe('token-1');
  });

  it('sends an expired session back to login and says so', async () => {
    window.localStorage.setItem('rebook.token', 'expired');
    server.use(
      http.get(`${API}/auth/me`, () =>
        HttpResponse.json({ error: 'Unauthorized', detail: 'Token expired.' }, { status: 401 }),
      ),
    );
    renderApp('/campaigns');
    expect(await screen.findByText(/Your session expired/)).toBeInTheDocument();
    expect(window.localStorage.getItem('rebook.token')).toBeNull();
  });
});
