// In-memory data behind the MSW handlers of the component tests.
import type {
  Campaign,
  CampaignRecipient,
  MessagingCustomer,
  MessagingStats,
  Place,
  Service,
  WhatsAppTemplate,
  WhatsAppTemplateList,
} from '@/types/campaign';

export const places: Place[] = [
  { id: 1, name: 'Studio Lumière', timezone: 'Europe/Paris', country_code: 'FR' },
  { id: 2, name: 'Glow Salon Shoreditch', timezone: 'Europe/London', country_code: 'GB' },
  { id: 3, name: 'Bella Cucina Brooklyn', timezone: 'America/New_York', country_code: 'US' },
];

/** The owner's services, ordered by category then name as the API lists them. */
export const services: Service[] = [
  { id: 2, name: 'Colour', category: 'Hair' },
  { id: 1, name: 'Cut & blow-dry', category: 'Hair' },
  { id: 3, name: 'Manicure', category: 'Nails' },
  { id: 4, name: 'Facial', category: 'Skin' },
];

const FIRST = ['Ada', 'Ben', 'Cleo', 'Dan', 'Eve', 'Finn'];

/** 120 consenting customers: every 4th without email, every 3rd without phone, every 7th
 * with an email an invalid number (9 in all), every 5th booked at both places. */
export function makeCustomers(count = 120): MessagingCustomer[] {
  return Array.from({ length: count }, (_, i) => {
    const id = i + 1;
    const invalid = id % 7 === 0 && id % 4 !== 0 && id % 3 !== 0;
    const first = FIRST[i % FIRST.length]!;
    return {
      user_id: id,
      name: `${first} Customer${String(id).padStart(3, '0')}`,
      email: id % 4 === 0 ? null : `${first.toLowerCase()}.${id}@example.com`,
      phone: id % 3 === 0 || invalid ? null : `•••••••${String(id % 100).padStart(2, '0')}78`,
      phone_invalid: invalid,
      gdpr_marketing_consent: true,
      places:
        id % 5 === 0
          ? [
              { id: 2, name: 'Salon London' },
              { id: 1, name: 'Salon Paris' },
            ]
          : [{ id: 1, name: 'Salon Paris' }],
      last_booking_date: '2026-10-01T10:00:00Z',
      total_bookings: 1 + (id % 5),
      reasons: [],
    };
  });
}

export function makeCampaign(overrides: Partial<Campaign> = {}): Campaign {
  return {
    id: 7,
    name: 'Spring comeback',
    description: null,
    campaign_type: 'messaging',
    status: 'draft',
    place_ids: [1, 2],
    config: null,
    messaging_config: { channels: ['email'], send_immediately: false },
    created_at: '2026-11-20T10:00:00Z',
    updated_at: '2026-11-20T10:00:00Z',
    first_sent_at: null,
    archived_at: null,
    can_delete: true,
    can_edit: true,
    can_send: true,
    can_cancel: false,
    ...overrides,
  };
}

export function makeStats(overrides: Partial<MessagingStats> = {}): MessagingStats {
  return {
    campaign_id: 7,
    status: 'sent',
    currency: 'EUR',
    total_recipients: 150,
    total: 300,
    sent: 248,
    failed: 12,
    pending: 0,
    skipped: 40,
    cancelled: 0,
    sent_percent: 82.66666,
    failed_percent: 4,
    pending_percent: 0,
    skipped_percent: 13.33333,
    delivery_rate: 95.3846,
    bounced: 0,
    complained: 0,
    possible_duplicates: 0,
    cost: '0.5650',
    estimated_cost: '0.75',
    channels: [
      {
        channel: 'email',
        total: 150,
        sent: 135,
        failed: 0,
        pending: 0,
        skipped: 15,
        cancelled: 0,
        sent_percent: 90,
        failed_percent: 0,
        pending_percent: 0,
        skipped_percent: 10,
        delivery_rate: 100,
        bounced: 0,
        complained: 0,
      },
      {
        channel: 'whatsapp',
        total: 150,
        sent: 113,
        failed: 12,
        pending: 0,
        skipped: 25,
        cancelled: 0,
        sent_percent: 75.3333,
        failed_percent: 8,
        pending_percent: 0,
        skipped_percent: 16.6667,
        delivery_rate: 90.4,
        bounced: 0,
        complained: 0,
      },
    ],
    ...overrides,
  };
}

export function makeRecipient(overrides: Partial<CampaignRecipient> = {}): CampaignRecipient {
  return {
    id: 1,
    user_id: 1,
    name: 'Ada Customer001',
    customer_email: 'ada.1@example.com',
    customer_phone: '+33 6 12 34 56 78',
    place_id: 1,
    status: 'pending',
    sent_at: null,
    error_message: null,
    deliveries: [
      {
        channel: 'email',
        status: 'pending',
        attempts: 0,
        provider_message_id: null,
        provider_status: null,
        error_code: null,
        error_message: null,
        sent_at: null,
        cost: null,
        possible_duplicate: false,
      },
    ],
    created_at: '2026-11-20T10:00:00Z',
    ...overrides,
  };
}

const template = (overrides: Partial<WhatsAppTemplate>): WhatsAppTemplate => ({
  content_sid: `HX${'1'.repeat(32)}`,
  name: 'Spring offer',
  language: 'en',
  category: 'marketing',
  status: 'approved',
  rejection_reason: null,
  can_send: true,
  problem: null,
  body: 'Hi {{1}}! Spring is here at {{2}}.',
  buttons: [],
  placeholders: ['1', '2'],
  sample_values: { '1': 'Camille', '2': 'Studio Lumière' },
  ...overrides,
});

export const whatsappTemplates: WhatsAppTemplateList = {
  source: 'outbox',
  refreshed_at: '2026-12-01T10:00:00Z',
  stale_reason: null,
  items: [
    template({}),
    template({
      content_sid: `HX${'2'.repeat(32)}`,
      name: 'Free gift',
      category: 'utility',
      status: 'rejected',
      rejection_reason: 'INVALID_CATEGORY: promotional content',
      can_send: false,
      problem:
        'The template “Free gift” was rejected by WhatsApp: INVALID_CATEGORY: promotional content',
      body: 'Claim your gift at {{1}}',
      placeholders: ['1'],
    }),
  ],
};
