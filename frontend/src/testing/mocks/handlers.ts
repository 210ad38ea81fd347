import { http, HttpResponse } from 'msw';

import type {
  Audience,
  AudienceFilters,
  Campaign,
  CampaignUpdate,
  MessagingCustomer,
} from '@/types/campaign';

import {
  makeCampaign,
  makeCustomers,
  makeStats,
  places,
  services,
  whatsappTemplates,
} from './data';

export const API = 'http://localhost:3000/api/v1';

/** What the handlers saw, for assertions on request bodies and counts. */
export const calls = {
  customers: [] as URLSearchParams[],
  recipientBodies: [] as unknown[],
  recipientDeletes: 0,
  patches: [] as CampaignUpdate[],
  creates: [] as unknown[],
  sends: [] as string[],
  testSends: [] as string[],
  replyTo: [] as [number, string | null][],
  audienceCreates: [] as { name: string; filters: AudienceFilters }[],
};

export const state = {
  customers: makeCustomers(),
  campaign: makeCampaign() as Campaign,
  recipients: 0,
  senderEmail: null as string | null,
  savedAudiences: [] as Audience[],
};

export function resetMockState(): void {
  state.customers = makeCustomers();
  state.campaign = makeCampaign();
  state.recipients = 0;
  calls.customers = [];
  calls.recipientBodies = [];
  calls.testSends = [];
  calls.replyTo = [];
  state.senderEmail = null;
  calls.recipientDeletes = 0;
  calls.patches = [];
  calls.creates = [];
  calls.sends = [];
  calls.audienceCreates = [];
  state.savedAudiences = [];
}

// The booking-history filters the mock knows: customers with an even id last came
// 100 + id days ago, the others last week; everyone booked a cut & blow-dry (service 1),
// every third customer a colour (service 2) too.
const lapsed = (c: MessagingCustomer) => c.user_id % 2 === 0;
const bookedServices = (c: MessagingCustomer) => (c.user_id % 3 === 0 ? [1, 2] : [1]);

function matching(params: URLSearchParams): MessagingCustomer[] {
  const filter = params.get('filter_by') ?? 'all';
  const search = (params.get('search') ?? '').toLowerCase();
  const notVisited = params.get('no_visit_within_days');
  const serviceIds = params.getAll('service_ids').map(Number);
  const booked = (c: MessagingCustomer) => bookedServices(c).filter((s) => serviceIds.includes(s));
  return state.customers
    .filter(
      (c) =>
        (filter !== 'has_email' || c.email) &&
        (filter !== 'has_phone' || c.phone) &&
        (!search || c.name.toLowerCase().includes(search) || (c.email ?? '').includes(search)) &&
        (!notVisited || lapsed(c)) &&
        (!serviceIds.length || booked(c).length > 0),
    )
    .map((c) => ({
      ...c,
      reasons: [
        ...(notVisited ? [`last visit ${100 + c.user_id} days ago`] : []),
        ...(serviceIds.length
          ? [
              `booked ${booked(c)
                .map((s) => services.find((x) => x.id === s)!.name)
                .join(', ')}`,
            ]
          : []),
      ],
    }));
}

function page<T>(items: T[], params: URLSearchParams) {
  const p = Number(params.get('page') ?? 1);
  const limit = Number(params.get('limit') ?? 50);
  return {
    items: items.slice((p - 1) * limit, p * limit),
    pagination: {
      total_count: items.length,
      max_page: Math.max(1, Math.ceil(items.length / limit)),
      page: p,
      limit,
    },
  };
}

export const handlers = [
  http.get(`${API}/auth/me`, () =>
    HttpResponse.json({
      id: 1,
      email: 'demo@rebook.test',
      first_name: 'Dana',
      last_name: 'Demo',
      role: 'business_owner',
    }),
  ),
  http.get(`${API}/owner/places`, () => HttpResponse.json(places)),
  http.get(`${API}/owner/services`, () => HttpResponse.json(services)),
  http.get(`${API}/owner/audiences`, () =>
    HttpResponse.json({
      presets: [
        {
          id: null,
          key: 'preset:not-visited-90-days',
          name: "Haven't visited in 90 days",
          description: 'Their last visit was more than 90 days ago.',
          filters: { no_visit_within_days: 90, overdue_factor: 1.5 },
          count: state.customers.filter(lapsed).length,
        },
      ],
      saved: state.savedAudiences,
    }),
  ),
  http.post(`${API}/owner/audiences`, async ({ request }) => {
    const body = (await request.json()) as { name: string; filters: AudienceFilters };
    calls.audienceCreates.push(body);
    const id = state.savedAudiences.length + 1;
    const saved: Audience = {
      id,
      key: `saved:${id}`,
      name: body.name,
      description: 'Saved audience',
      filters: body.filters as Audience['filters'],
      count: 12,
      updated_at: '2026-12-01T10:00:00Z',
    };
    state.savedAudiences.push(saved);
    return HttpResponse.json(saved, { status: 201 });
  }),
  http.get(`${API}/owner/campaigns/messaging/customers`, ({ request }) => {
    const params = new URL(request.url).searchParams;
    calls.customers.push(params);
    // Cursors as the server's: "after this row"; here simply the row's position.
    const items = matching(params);
    const limit = Number(params.get('limit') ?? 50);
    const cursor = params.get('cursor');
    const start = cursor ? Number(cursor.slice(1)) : (Number(params.get('page') ?? 1) - 1) * limit;
    const result = page(items, params);
    result.items = items.slice(start, start + limit);
    const end = start + result.items.length;
    return HttpResponse.json({ ...result, next_cursor: end < items.length ? `c${end}` : null });
  }),
  http.post(`${API}/owner/campaigns`, async ({ request }) => {
    const body = (await request.json()) as Partial<Campaign>;
    calls.creates.push(body);
    state.campaign = makeCampaign({ ...body, id: 7, status: 'draft' });
    return HttpResponse.json(state.campaign, { status: 201 });
  }),
  http.get(`${API}/owner/campaigns/:id`, () => HttpResponse.json(state.campaign)),
  http.patch(`${API}/owner/campaigns/:id`, async ({ request }) => {
    const body = (await request.json()) as CampaignUpdate;
    calls.patches.push(body);
    state.campaign = {
      ...state.campaign,
      ...(body as Partial<Campaign>),
      messaging_config: body.messaging_config ?? state.campaign.messaging_config,
      updated_at: new Date().toISOString(),
    };
    return HttpResponse.json(state.campaign);
  }),
  http.get(`${API}/owner/campaigns/:id/recipients`, ({ request }) => {
    const params = new URL(request.url).searchParams;
    return HttpResponse.json({
      items: [],
      pagination: { total_count: state.recipients, max_page: 1, page: 1, limit: 1 },
      ...(params.get('x') ? {} : {}),
    });
  }),
  http.delete(`${API}/owner/campaigns/:id/recipients`, () => {
    calls.recipientDeletes += 1;
    const removed = state.recipients;
    state.recipients = 0;
    return HttpResponse.json({ added: 0, removed, total_recipients: 0 });
  }),
  http.post(`${API}/owner/campaigns/:id/recipients`, async ({ request }) => {
    const body = (await request.json()) as {
      user_ids?: number[];
      select_all?: { filter_by: string; search: string | null; exclude_user_ids: number[] };
    };
    calls.recipientBodies.push(body);
    let added = body.user_ids?.length ?? 0;
    if (body.select_all) {
      const params = new URLSearchParams({ filter_by: body.select_all.filter_by });
      if (body.select_all.search) params.set('search', body.select_all.search);
      added = matching(params).filter(
        (c) => !body.select_all!.exclude_user_ids.includes(c.user_id),
      ).length;
    }
    state.recipients += added;
    return HttpResponse.json({ added, removed: 0, total_recipients: state.recipients });
  }),
  http.get(`${API}/owner/whatsapp-templates`, () => HttpResponse.json(whatsappTemplates)),
  http.post(`${API}/owner/campaigns/:id/preview`, () =>
    HttpResponse.json({
      customer: { user_id: 1, name: 'Ada Customer001' },
      email: null,
      whatsapp: null,
    }),
  ),
  http.get(`${API}/owner/campaigns/:id/send-summary`, () =>
    HttpResponse.json({
      recipients: state.recipients,
      channels: [
        {
          channel: 'email',
          deliverable: state.recipients,
          skipped_missing_contact: 0,
          estimated_cost: '0',
        },
      ],
      estimated_cost: '0',
      place_timezones: ['Europe/Paris'],
      currency: 'USD',
      checks: [
        {
          key: 'audience',
          ok: state.recipients > 0,
          label: 'Audience',
          detail:
            state.recipients > 0 ? `${state.recipients} customers` : 'add at least one recipient',
        },
        { key: 'sender', ok: true, label: 'Sender', detail: 'Email from your place' },
        { key: 'content', ok: true, label: 'Content', detail: 'email written' },
        { key: 'schedule', ok: true, label: 'Schedule', detail: 'now, when you confirm' },
      ],
      can_send: state.recipients > 0,
    }),
  ),
  http.post(`${API}/owner/campaigns/:id/send`, ({ request }) => {
    const now = new URL(request.url).searchParams.get('send_immediately') ?? '';
    calls.sends.push(now);
    state.campaign = {
      ...state.campaign,
      status: now === 'true' ? 'sending' : 'scheduled',
      can_edit: now !== 'true',
      can_send: false,
      can_cancel: true,
    };
    return HttpResponse.json(state.campaign);
  }),
  http.get(`${API}/owner/campaigns/:id/messaging-stats`, () => HttpResponse.json(makeStats())),
  http.get(`${API}/owner/email-sender`, () =>
    HttpResponse.json({ sender_email: state.senderEmail, verified_domains: ['salon.example'] }),
  ),
  http.put(`${API}/owner/email-sender`, async ({ request }) => {
    const { sender_email } = (await request.json()) as { sender_email: string | null };
    if (sender_email && !sender_email.endsWith('@salon.example')) {
      return HttpResponse.json(
        {
          error: 'InvalidInput',
          detail: 'sender_email: gmail.example is not a verified sending domain.',
        },
        { status: 422 },
      );
    }
    state.senderEmail = sender_email;
    return HttpResponse.json({ sender_email, verified_domains: ['salon.example'] });
  }),
  http.patch(`${API}/owner/places/:id`, async ({ params, request }) => {
    const { reply_to_email } = (await request.json()) as { reply_to_email: string | null };
    calls.replyTo.push([Number(params.id), reply_to_email]);
    const place = places.find((p) => p.id === Number(params.id))!;
    return HttpResponse.json({ ...place, reply_to_email });
  }),
  http.get(`${API}/owner/deliverability`, () =>
    HttpResponse.json({
      window_days: 30,
      emails: 1200,
      complaints: 0,
      complaint_rate: 0,
      warning_rate: 0.001,
      hold_rate: 0.003,
      warning: false,
      held: false,
      held_since: null,
      message: null,
    }),
  ),
  http.post(`${API}/owner/campaigns/:id/test-send`, async ({ request }) => {
    const { channel } = (await request.json()) as { channel: 'email' | 'whatsapp' };
    calls.testSends.push(channel);
    return HttpResponse.json({
      channel,
      to: channel === 'email' ? 'demo@rebook.test' : '+33612345678',
      provider_message_id: 'outbox-1',
      sent_at: '2026-12-01T10:00:00Z',
    });
  }),
];
