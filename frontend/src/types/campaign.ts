// Campaign types of the owner app (plan phase 5). Those the backend already publishes come from
// its OpenAPI schema (src/api/schema.d.ts, checked for drift by `npm test`); the rest mirror the
// messaging API contract until it is in the schema.
import type { components } from '@/api/schema';

type Schemas = components['schemas'];

export type CampaignType = Schemas['CampaignRead']['campaign_type'];
export type CampaignStatus = Schemas['CampaignRead']['status'];
export type Channel = 'email' | 'whatsapp';

export type MessagingConfig = Schemas['MessagingConfig'];
export type Campaign = Schemas['CampaignRead'];
export type CampaignCreate = Schemas['CampaignCreate'];
export type CampaignUpdate = Schemas['CampaignUpdate'];
export type Place = Schemas['PlaceRead'];
export type Pagination = Schemas['Pagination'];

export interface Page<T> {
  items: T[];
  pagination: Pagination;
}

export const CAMPAIGN_TYPES: readonly CampaignType[] = [
  'messaging',
  'price_reduction',
  'rewards_increase',
  'free_service',
];

export const CAMPAIGN_STATUSES: readonly CampaignStatus[] = [
  'draft',
  'active',
  'paused',
  'ended',
  'scheduled',
  'sending',
  'sent',
  'partially_failed',
  'cancelled',
];

/** Whom the customer list shows: everyone, or only those we can reach on one channel. */
export type CustomerFilter = 'all' | 'has_email' | 'has_phone';

export interface MessagingCustomer {
  user_id: number;
  name: string;
  email: string | null;
  /** Masked by the server, e.g. "•••• ••56 78". */
  phone: string | null;
  gdpr_marketing_consent: boolean;
  last_booking_date: string | null;
  total_bookings: number;
}

export type DeliveryStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'skipped' | 'cancelled';
export type RecipientStatus = 'pending' | 'sent' | 'failed' | 'skipped' | 'cancelled';

export interface Delivery {
  channel: Channel;
  status: DeliveryStatus | string;
  attempts: number;
  provider_message_id: string | null;
  provider_status: string | null;
  error_code: string | null;
  error_message: string | null;
  sent_at: string | null;
  cost: string | number | null;
  possible_duplicate: boolean;
}

export interface CampaignRecipient {
  id: number;
  user_id: number;
  name: string;
  customer_email: string | null;
  customer_phone: string | null;
  place_id: number | null;
  status: RecipientStatus | string;
  sent_at: string | null;
  error_message: string | null;
  deliveries: Delivery[];
  created_at: string;
}

/** Recipients chosen one by one, or "everyone matching this filter" resolved by the server. */
export type RecipientSelection =
  | { user_ids: number[] }
  | {
      select_all: {
        filter_by: CustomerFilter;
        search: string | null;
        exclude_user_ids: number[];
      };
    };

export interface RecipientsChanged {
  added?: number;
  removed?: number;
  total_recipients: number;
}

export interface MessagePreview {
  customer: { user_id: number; name: string } | null;
  email: { subject: string; html: string; text: string } | null;
  whatsapp: {
    text: string | null;
    content_sid: string | null;
    content_variables: Record<string, string> | null;
  } | null;
}

export interface ChannelSummary {
  channel: Channel;
  deliverable: number;
  skipped_missing_contact: number;
  estimated_cost: string | number;
}

export interface SendSummary {
  recipients: number;
  channels: ChannelSummary[];
  estimated_cost: string | number;
  place_timezones: string[];
}

export interface StatusCounts {
  total: number;
  sent: number;
  failed: number;
  pending: number;
  skipped: number;
  cancelled: number;
  sent_percent: number;
  failed_percent: number;
  pending_percent: number;
  skipped_percent: number;
  delivery_rate: number;
}

export interface ChannelStats extends StatusCounts {
  channel: Channel;
}

export interface MessagingStats extends StatusCounts {
  campaign_id: number;
  status: CampaignStatus | string;
  total_recipients: number;
  possible_duplicates: number;
  cost: string | number;
  estimated_cost: string | number;
  channels: ChannelStats[];
}

export interface OutboxMessage {
  id: number;
  channel: Channel;
  to_address: string;
  subject: string | null;
  body: string;
  created_at: string;
  delivery_id: number | null;
  campaign_id: number | null;
}

export const TEMPLATE_VARIABLES = [
  { name: 'first_name', label: 'First name' },
  { name: 'last_name', label: 'Last name' },
  { name: 'place_name', label: 'Place name' },
  { name: 'unsubscribe_url', label: 'Unsubscribe link' },
] as const;

export const WHATSAPP_MAX_CHARS = 1600;
