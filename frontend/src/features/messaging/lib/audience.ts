// Booking-history filters in the browser: the query string they make, whether two are the
// same audience, and a short description. The server applies them (and counts).
import type { AudienceFilters } from '@/types/campaign';

export const DEFAULT_OVERDUE_FACTOR = 1.5;

type QueryValue = string | number | boolean | readonly (string | number)[];

/** The filters that are set, in a stable order, dropping the factor unless overdue is. */
export function normalizeAudience(filters: AudienceFilters | undefined): AudienceFilters {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(filters ?? {}).sort()) {
    const value = (filters as Record<string, unknown>)[key];
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value) && value.length === 0) continue;
    if (key === 'overdue_factor' && (filters?.overdue == null || value === DEFAULT_OVERDUE_FACTOR))
      continue;
    out[key] = Array.isArray(value) ? [...value].sort() : value;
  }
  return out as AudienceFilters;
}

export function audienceQuery(filters: AudienceFilters | undefined): Record<string, QueryValue> {
  return normalizeAudience(filters) as Record<string, QueryValue>;
}

export function isEmptyAudience(filters: AudienceFilters | undefined): boolean {
  return Object.keys(normalizeAudience(filters)).length === 0;
}

export function sameAudience(a: AudienceFilters | undefined, b: AudienceFilters | undefined) {
  return JSON.stringify(normalizeAudience(a)) === JSON.stringify(normalizeAudience(b));
}
