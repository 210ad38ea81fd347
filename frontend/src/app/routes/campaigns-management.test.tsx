import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';

import { makeCampaign } from '@/testing/mocks/data';
import { API } from '@/testing/mocks/handlers';
import { server } from '@/testing/setup-tests';
import { renderWithProviders } from '@/testing/test-utils';

import { CampaignsManagement } from './campaigns-management';

const campaigns = [
  makeCampaign({ id: 7, name: 'Spring comeback', status: 'sent' }),
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
      '150 recipients · 248 of 300 messages sent · 12 failed',
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
});
