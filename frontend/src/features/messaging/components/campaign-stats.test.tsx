import { screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { makeStats } from '@/testing/mocks/data';
import { renderWithProviders } from '@/testing/test-utils';

import { CampaignStats, CampaignStatsView } from './campaign-stats';

const card = (label: string) => screen.getByText(label, { selector: 'dt' }).parentElement!;

describe('CampaignStats', () => {
  it('shows totals with rounded percentages and cost', () => {
    renderWithProviders(<CampaignStatsView stats={makeStats()} />);
    expect(within(card('Recipients')).getByText('150')).toBeInTheDocument();
    expect(within(card('Recipients')).getByText('300 messages')).toBeInTheDocument();
    expect(within(card('Sent')).getByText('248')).toBeInTheDocument();
    expect(within(card('Sent')).getByText('82.7 %')).toBeInTheDocument();
    expect(within(card('Failed')).getByText('4 %')).toBeInTheDocument();
    expect(within(card('Skipped')).getByText('13.3 %')).toBeInTheDocument();
    expect(within(card('Pending')).getByText('0')).toBeInTheDocument();
    // In the configured currency, to the cent.
    expect(within(card('Cost')).getByText('€0.57')).toBeInTheDocument();
    expect(within(card('Cost')).getByText('estimated €0.75')).toBeInTheDocument();
    expect(screen.queryByText('Cancelled', { selector: 'dt' })).not.toBeInTheDocument();
  });

  it('shows a Cancelled card when messages were stopped', () => {
    renderWithProviders(
      <CampaignStatsView stats={makeStats({ status: 'cancelled', cancelled: 30 })} />,
    );
    expect(within(card('Cancelled')).getByText('30')).toBeInTheDocument();
  });

  it('breaks the outcome down per channel', () => {
    renderWithProviders(<CampaignStatsView stats={makeStats()} />);
    // Skipped messages never could leave: they are not counted against what was sent.
    expect(
      screen.getByText('135 of 135 reachable sent · 15 could not be reached · 100 % delivery rate'),
    ).toBeInTheDocument();
    expect(
      screen.getByText(
        '113 of 125 reachable sent · 25 could not be reached · 90.4 % delivery rate',
      ),
    ).toBeInTheDocument();
    expect(
      screen.getByRole('img', {
        name: 'WhatsApp: 113 sent, 12 failed, 0 pending, 25 skipped, 0 cancelled',
      }),
    ).toBeInTheDocument();
  });

  it('counts the emails that bounced and were marked as spam', () => {
    const base = makeStats();
    const stats = {
      ...base,
      channels: base.channels.map((c) =>
        c.channel === 'email' ? { ...c, bounced: 3, complained: 1 } : c,
      ),
    };
    renderWithProviders(<CampaignStatsView stats={stats} />);
    expect(
      screen.getByText(
        '135 of 135 reachable sent · 15 could not be reached · 100 % delivery rate · 3 bounced · 1 marked as spam',
      ),
    ).toBeInTheDocument();
  });

  it('says it refreshes while sending', () => {
    renderWithProviders(
      <CampaignStatsView stats={makeStats({ status: 'sending', pending: 40 })} />,
    );
    expect(screen.getByText(/numbers refresh every few seconds/)).toBeInTheDocument();
  });

  it('loads the stats from the API', async () => {
    renderWithProviders(<CampaignStats campaignId={7} />);
    expect(await screen.findByText('82.7 %')).toBeInTheDocument();
  });
});
