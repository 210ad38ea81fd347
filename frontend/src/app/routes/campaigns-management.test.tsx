import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';

import { makeCampaign } from '@/testing/mocks/data';
import { API } from '@/testing/mocks/handlers';
import { server } from '@/testing/setup-tests';
import { renderWithProviders } from '@/testing/test-utils';

import { CampaignsManagement } from './campaigns-management';

const campaigns = [
  makeCampaign({
    id: 7,
    name: 'Spring comeback',
    status: 'sent',
    first_sent_at: '2026-11-20T11:00:00Z',
    can_delete: false,
    can_edit: false,
    can_send: false,
  }),
  makeCampaign({
    id: 8,
    name: 'Ten percent',
    campaign_type: 'price_reduction',
    status: 'active',
    messaging_config: null,
    config: { discount_percent: 10 },
    place_ids: [1],
  }),
];

describe('CampaignsManagement', () => {
  it('lists every type, with messaging stats inline and its recipients', async () => {
    const seen: URLSearchParams[] = [];
    server.use(
      http.get(`${API}/owner/campaigns`, ({ request }) => {
        seen.push(new URL(request.url).searchParams);
        return HttpResponse.json({
          items: campaigns,
          pagination: { total_count: 2, max_page: 1, page: 1, limit: 20 },
        });
      }),
      http.get(`${API}/owner/campaigns/:id/recipients`, () =>
        HttpResponse.json({
          items: [],
          pagination: { total_count: 0, max_page: 1, page: 1, limit: 25 },
        }),
      ),
    );
    const { user } = renderWithProviders(<CampaignsManagement />, { route: '/campaigns' });
    const rows = await screen.findAllByTestId('campaign-row');
    expect(rows).toHaveLength(2);
    const [messaging, offer] = rows as [HTMLElement, HTMLElement];
    expect(within(messaging).getByRole('img', { name: 'Messaging' })).toBeInTheDocument();
    expect(within(messaging).getByText('Sent')).toBeInTheDocument();
    expect(await within(messaging).findByTestId('inline-stats')).toHaveTextContent(
      '150 recipients · 248 of 260 reachable messages sent · 12 failed · 40 unreachable',
    );
    await waitFor(() =>
      expect(offer).toHaveTextContent('Price reduction · 10 % off · Studio Lumière'),
    );
    expect(within(offer).queryByRole('button', { name: 'View recipients' })).toBeNull();

    await user.click(within(messaging).getByRole('button', { name: 'View recipients' }));
    expect(
      await screen.findByRole('dialog', { name: 'Recipients of “Spring comeback”' }),
    ).toBeInTheDocument();
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).toBeNull();

    await user.click(screen.getByRole('button', { name: 'New campaign' }));
    const picker = screen.getByRole('dialog', { name: 'New campaign' });
    expect(
      within(picker).getAllByRole('button', { name: /Messaging|Price|Rewards|Free/ }),
    ).toHaveLength(4);
  });

  it('offers Archive instead of Delete for a campaign that has sent, and lists archived ones', async () => {
    const seen: URLSearchParams[] = [];
    const archived: string[] = [];
    server.use(
      http.get(`${API}/owner/campaigns`, ({ request }) => {
        const query = new URL(request.url).searchParams;
        seen.push(query);
        const items =
          query.get('archived') === 'true'
            ? [{ ...campaigns[0]!, archived_at: '2026-11-22T10:00:00Z' }]
            : campaigns;
        return HttpResponse.json({
          items,
          pagination: { total_count: items.length, max_page: 1, page: 1, limit: 20 },
        });
      }),
      http.post(`${API}/owner/campaigns/:id/archive`, ({ params }) => {
        archived.push(String(params.id));
        return HttpResponse.json({ ...campaigns[0]!, archived_at: '2026-11-22T10:00:00Z' });
      }),
    );
    const { user } = renderWithProviders(<CampaignsManagement />, { route: '/campaigns' });
    const [sent, offer] = (await screen.findAllByTestId('campaign-row')) as [
      HTMLElement,
      HTMLElement,
    ];
    expect(within(sent).queryByRole('button', { name: 'Delete Spring comeback' })).toBeNull();
    expect(within(offer).getByRole('button', { name: 'Delete Ten percent' })).toBeInTheDocument();

    await user.click(within(sent).getByRole('button', { name: 'Archive Spring comeback' }));
    await waitFor(() => expect(archived).toEqual(['7']));
    expect(await screen.findByText(/Campaign archived/)).toBeInTheDocument();

    await user.click(screen.getByRole('checkbox', { name: 'Archived only' }));
    await waitFor(() => expect(screen.getAllByTestId('campaign-row')).toHaveLength(1));
    const only = screen.getByTestId('campaign-row');
    expect(within(only).getByText('Archived')).toBeInTheDocument();
    expect(
      within(only).getByRole('button', { name: 'Unarchive Spring comeback' }),
    ).toBeInTheDocument();
    expect(seen.at(-1)?.get('archived')).toBe('true');
  });

  it('offers what the API says the owner may do, whatever the status', async () => {
    server.use(
      http.get(`${API}/owner/campaigns`, () =>
        HttpResponse.json({
          items: [
            makeCampaign({ id: 1, name: 'Draft', status: 'draft' }),
            makeCampaign({
              id: 2,
              name: 'Scheduled',
              status: 'scheduled',
              can_delete: false,
              can_send: false,
              can_cancel: true,
            }),
            // A status the web app has no rule for: only the flags decide.
            makeCampaign({
              id: 3,
              name: 'Held',
              status: 'cancelled',
              can_delete: false,
              can_send: false,
            }),
          ],
          pagination: { total_count: 3, max_page: 1, page: 1, limit: 20 },
        }),
      ),
    );
    renderWithProviders(<CampaignsManagement />, { route: '/campaigns' });
    const [draft, scheduled, held] = (await screen.findAllByTestId('campaign-row')) as [
      HTMLElement,
      HTMLElement,
      HTMLElement,
    ];
    expect(within(draft).getByRole('button', { name: 'Continue' })).toBeInTheDocument();
    expect(within(scheduled).queryByRole('button', { name: /Continue|Edit/ })).toBeNull();
    expect(within(scheduled).queryByRole('button', { name: 'Archive Scheduled' })).toBeNull();
    expect(within(held).queryByRole('button', { name: /Continue|Edit/ })).toBeNull();
    expect(within(held).getByRole('button', { name: 'Archive Held' })).toBeInTheDocument();
  });
});
