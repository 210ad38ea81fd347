import { screen, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';

import { API } from '@/testing/mocks/handlers';
import { server } from '@/testing/setup-tests';
import { renderWithProviders } from '@/testing/test-utils';
import type { AuditEvent } from '@/types/campaign';

import { CampaignTimeline, CampaignTimelineView, describeEvent } from './campaign-timeline';

const FIREFOX =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:140.0) Gecko/20100101 Firefox/140.0';

function event(overrides: Partial<AuditEvent>): AuditEvent {
  return {
    id: 1,
    action: 'campaign.created',
    created_at: '2026-11-20T09:00:00Z',
    actor: 'owner',
    ip_address: '203.0.113.7',
    user_agent: FIREFOX,
    details: {},
    ...overrides,
  };
}

const trail: AuditEvent[] = [
  event({
    id: 6,
    action: 'campaign.finished',
    created_at: '2026-11-21T08:01:00Z',
    actor: 'worker',
    ip_address: null,
    user_agent: null,
    details: { status: 'partially_failed' },
  }),
  event({
    id: 5,
    action: 'campaign.cancelled',
    details: {
      previous_status: 'sending',
      cancelled: 40,
      deliveries: { email: { sent: 60, cancelled: 40 }, whatsapp: { sent: 12, sending: 2 } },
    },
  }),
  event({
    id: 4,
    action: 'campaign.updated',
    details: {
      fields: ['messaging_config'],
      while_scheduled: true,
      changes: {
        scheduled_send_time: { from: '2026-11-21T17:00:00Z', to: '2026-11-21T08:00:00Z' },
        email_subject: { from: 'Hello', to: 'Tomorrow only' },
        content: ['email_subject', 'email_body'],
      },
    },
  }),
  event({
    id: 3,
    action: 'campaign.scheduled',
    details: {
      scheduled_send_time: '2026-11-21T17:00:00Z',
      channels: ['email', 'whatsapp'],
      recipients: 100,
      deliveries: { email: { pending: 100 }, whatsapp: { pending: 14, skipped: 86 } },
    },
  }),
  event({
    id: 2,
    action: 'campaign.recipients_added',
    details: {
      by: 'select_all',
      count: 98,
      filter_by: 'has_email',
      search: 'bernard',
      excluded: 2,
      excluded_user_ids: [4, 9],
    },
  }),
  event({
    id: 1,
    action: 'campaign.recipients_added',
    details: { by: 'ids', count: 2, requested: 3, user_ids: [1, 2, 3] },
  }),
];

const ZONE = 'Europe/Paris';

describe('describeEvent', () => {
  it('says how recipients were chosen', () => {
    expect(describeEvent(trail[4]!, ZONE)).toEqual({
      title: 'Added 98 recipients',
      lines: [
        'Everyone matching: customers with an email address, search “bernard”, 2 left out by hand',
      ],
    });
    expect(describeEvent(trail[5]!, ZONE)).toEqual({
      title: 'Added 2 recipients',
      lines: ['Chosen one by one (3 customers picked)', '1 was already in the list'],
    });
  });

  it('names a rescheduling with both times in the place’s time zone', () => {
    expect(describeEvent(trail[2]!, ZONE)).toEqual({
      title: 'Edited the campaign while it was scheduled',
      lines: [
        'Moved the send time from 21 Nov 2026, 18:00 to 21 Nov 2026, 09:00',
        'Email subject: “Hello” → “Tomorrow only”',
        'Changed the email message',
      ],
    });
  });

  it('counts what a cancel stopped and what had already gone', () => {
    expect(describeEvent(trail[1]!, ZONE)).toEqual({
      title: 'Stopped sending',
      lines: [
        '40 messages not sent',
        'After the cancel: Email: 60 sent, 40 not sent · WhatsApp: 12 sent, 2 being sent',
      ],
    });
  });

  it('says a first subject is set, not changed from nothing', () => {
    const set = describeEvent({
      action: 'campaign.updated',
      details: { changes: { email_subject: { from: null, to: 'Hi' }, content: ['email_subject'] } },
    });
    expect(set.lines).toEqual(['Set the email subject to “Hi”']);
  });

  it('falls back to the action’s name for an event it does not know', () => {
    expect(describeEvent({ action: 'campaign.exported_somewhere', details: {} })).toEqual({
      title: 'Exported somewhere',
      lines: [],
    });
  });
});

describe('CampaignTimelineView', () => {
  it('shows each event with when, who and from where', () => {
    renderWithProviders(<CampaignTimelineView events={trail} timeZone={ZONE} />);
    const items = screen.getAllByTestId('timeline-event');
    expect(items).toHaveLength(6);
    const [finished, , , scheduled] = items as HTMLElement[];
    expect(finished).toHaveTextContent('Finished sending; some messages failed');
    expect(finished).toHaveTextContent('21 Nov 2026, 09:01 · Rebook, sending');
    expect(within(finished!).queryByText(/from /)).toBeNull();
    expect(scheduled).toHaveTextContent('Scheduled it for 21 Nov 2026, 18:00');
    expect(scheduled).toHaveTextContent('To 100 recipients by Email + WhatsApp');
    expect(scheduled).toHaveTextContent('Email: 100 waiting · WhatsApp: 14 waiting, 86 skipped');
    const from = within(scheduled!).getByText('from 203.0.113.7 · Firefox 140');
    expect(from).toHaveAttribute('title', FIREFOX);
    expect(scheduled).toHaveTextContent('· You ·');
  });

  it('says when nothing is recorded', () => {
    renderWithProviders(<CampaignTimelineView events={[]} />);
    expect(screen.getByText('Nothing recorded yet.')).toBeInTheDocument();
  });
});

describe('CampaignTimeline', () => {
  it('loads the campaign’s trail page by page', async () => {
    const pages: string[] = [];
    server.use(
      http.get(`${API}/owner/campaigns/:id/audit-events`, ({ request, params }) => {
        const url = new URL(request.url);
        pages.push(`${String(params.id)}:${url.searchParams.get('page')}`);
        const page = Number(url.searchParams.get('page'));
        return HttpResponse.json({
          items: page === 1 ? trail.slice(0, 3) : trail.slice(3),
          pagination: { total_count: 6, max_page: 2, page, limit: 3 },
        });
      }),
    );
    const { user } = renderWithProviders(<CampaignTimeline campaignId={7} timeZone={ZONE} />);
    expect(await screen.findByText('Stopped sending')).toBeInTheDocument();
    expect(screen.getByRole('heading', { name: 'History' })).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: /next/i }));
    expect(await screen.findByText('Added 98 recipients')).toBeInTheDocument();
    expect(pages).toEqual(['7:1', '7:2']);
  });

  it('says why the WhatsApp messages were stopped', () => {
    const stopped = event({
      action: 'campaign.whatsapp_stopped',
      actor: 'worker',
      details: { code: '63041', stopped: 38, reason: 'Meta paused this template.' },
    });
    expect(describeEvent(stopped, ZONE)).toEqual({
      title: 'Stopped the WhatsApp messages: 38 messages not sent',
      lines: ['Meta paused this template.'],
    });
  });

  it('shows why the trail could not be loaded', async () => {
    server.use(
      http.get(`${API}/owner/campaigns/:id/audit-events`, () =>
        HttpResponse.json({ error: 'NotFound', detail: 'Campaign 7 not found.' }, { status: 404 }),
      ),
    );
    renderWithProviders(<CampaignTimeline campaignId={7} />);
    expect(await screen.findByText('Campaign 7 not found.')).toBeInTheDocument();
  });
});
