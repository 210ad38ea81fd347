import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';

import { makeCampaign, makeRecipient, makeStats } from '@/testing/mocks/data';
import { API } from '@/testing/mocks/handlers';
import { server } from '@/testing/setup-tests';
import { renderWithProviders } from '@/testing/test-utils';

import { CampaignRecipientsModal } from './campaign-recipients-modal';

const failed = makeRecipient({
  id: 2,
  user_id: 2,
  name: 'Ben Customer002',
  status: 'failed',
  error_message: 'whatsapp: Unreachable',
  deliveries: [
    { ...makeRecipient().deliveries[0]!, status: 'sent', provider_status: 'delivered' },
    {
      ...makeRecipient().deliveries[0]!,
      channel: 'whatsapp',
      status: 'failed',
      error_code: '63016',
      error_message: 'Outside the 24-hour window',
    },
  ],
});

describe('CampaignRecipientsModal', () => {
  it('lists recipients with a badge per channel, errors, filters, delete and retry', async () => {
    const seen: URLSearchParams[] = [];
    let deleted = 0;
    let retried = 0;
    server.use(
      http.get(`${API}/owner/campaigns/:id/recipients`, ({ request }) => {
        const params = new URL(request.url).searchParams;
        seen.push(params);
        const items = params.get('status') === 'failed' ? [failed] : [makeRecipient(), failed];
        return HttpResponse.json({
          items,
          pagination: { total_count: items.length, max_page: 1, page: 1, limit: 25 },
          next_cursor: null,
        });
      }),
      http.delete(`${API}/owner/campaigns/:id/recipients/:rid`, () => {
        deleted += 1;
        return new HttpResponse(null, { status: 204 });
      }),
      http.post(`${API}/owner/campaigns/:id/retry-failed`, () => {
        retried += 1;
        return HttpResponse.json({ retried: 12 });
      }),
      http.get(`${API}/owner/campaigns/:id/messaging-stats`, () =>
        HttpResponse.json(makeStats({ status: 'partially_failed' })),
      ),
    );
    const { user } = renderWithProviders(
      <CampaignRecipientsModal campaign={makeCampaign()} open onClose={() => undefined} />,
    );
    const table = await screen.findByTestId('recipients-table');
    expect(within(table).getAllByText('Email:')).toHaveLength(2);
    expect(within(table).getByText('Delivered')).toBeInTheDocument();
    expect(within(table).getByText('Outside the 24-hour window (code 63016)')).toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Remove Ada Customer001' }));
    // The app's own dialog asks first (no window.confirm).
    const ask = await screen.findByRole('dialog', { name: 'Remove Ada Customer001?' });
    await user.click(within(ask).getByRole('button', { name: 'Remove' }));
    await waitFor(() => expect(deleted).toBe(1));
    expect(screen.queryByRole('button', { name: 'Remove Ben Customer002' })).toBeNull();

    await user.selectOptions(screen.getByLabelText('Status'), 'failed');
    await waitFor(() => expect(seen.at(-1)?.get('status')).toBe('failed'));

    await user.click(await screen.findByRole('button', { name: 'Retry failed (12)' }));
    await waitFor(() => expect(retried).toBe(1));
    expect(await screen.findByText('12 messages queued again.')).toBeInTheDocument();
  });

  it('reads each next page after the previous page’s cursor, with or without a total', async () => {
    const seen: URLSearchParams[] = [];
    server.use(
      http.get(`${API}/owner/campaigns/:id/recipients`, ({ request }) => {
        const params = new URL(request.url).searchParams;
        seen.push(params);
        const page = Number(params.get('page'));
        // Filtered on a status both channels hold: the server gives no total.
        const counted = params.get('status') !== 'sent';
        return HttpResponse.json({
          items: [makeRecipient({ id: page, user_id: page, name: `Customer on page ${page}` })],
          pagination: {
            total_count: counted ? 3 : null,
            max_page: counted ? 3 : null,
            page,
            limit: 25,
          },
          next_cursor: page < 3 ? `after-${page}` : null,
        });
      }),
      http.get(`${API}/owner/campaigns/:id/messaging-stats`, () =>
        HttpResponse.json(makeStats({ status: 'sent' })),
      ),
    );
    const { user } = renderWithProviders(
      <CampaignRecipientsModal campaign={makeCampaign()} open onClose={() => undefined} />,
    );
    expect(await screen.findByText('Customer on page 1')).toBeInTheDocument();
    expect(screen.getByText(/Page 1 of 3/)).toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Next page' }));
    expect(await screen.findByText('Customer on page 2')).toBeInTheDocument();
    expect(seen.at(-1)?.get('cursor')).toBe('after-1');

    await user.selectOptions(screen.getByLabelText('Status'), 'sent');
    expect(await screen.findByText('Customer on page 1')).toBeInTheDocument();
    expect(seen.at(-1)?.get('cursor')).toBeNull();
    expect(screen.getByText(/^Page 1/)).toHaveTextContent(/^Page 1$/);
    await user.click(screen.getByRole('button', { name: 'Next page' }));
    await user.click(await screen.findByRole('button', { name: 'Next page' }));
    expect(await screen.findByText('Customer on page 3')).toBeInTheDocument();
    expect(seen.at(-1)?.get('cursor')).toBe('after-2');
    expect(screen.getByRole('button', { name: 'Next page' })).toBeDisabled();
  });
});
