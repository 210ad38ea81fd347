// The customer selection of a campaign, kept small whatever the audience size: either ids
// picked one by one, or "everyone matching a filter" (resolved by the server) minus exclusions
// plus a few extra ids. No request ever carries every id.
import type {
  AudienceFilters,
  CustomerFilter,
  MessagingCustomer,
  RecipientSelection,
} from '@/types/campaign';

import {
  DEFAULT_OVERDUE_FACTOR,
  isEmptyAudience,
  normalizeAudience,
  sameAudience,
} from './audience';

export interface Criteria {
  filterBy: CustomerFilter;
  search: string;
  /** Booking-history filters the customers must match (the campaign records them). */
  audience?: AudienceFilters;
  /** The saved audience they came from, if any. */
  savedAudienceId?: number | null;
}

export type Selection =
  | { mode: 'ids'; ids: ReadonlySet<number> }
  | {
      mode: 'all';
      criteria: Criteria;
      excluded: ReadonlySet<number>;
      extra: ReadonlySet<number>;
    };

export const emptySelection = (): Selection => ({ mode: 'ids', ids: new Set() });

export const selectAllMatching = (criteria: Criteria): Selection => ({
  mode: 'all',
  criteria: {
    filterBy: criteria.filterBy,
    search: criteria.search.trim(),
    audience: normalizeAudience(criteria.audience),
    savedAudienceId: criteria.savedAudienceId ?? null,
  },
  excluded: new Set(),
  extra: new Set(),
});

export function sameCriteria(a: Criteria, b: Criteria): boolean {
  return (
    a.filterBy === b.filterBy &&
    a.search.trim() === b.search.trim() &&
    sameAudience(a.audience, b.audience)
  );
}

/**
 * Whether a customer falls under "all matching" criteria. Exact when the row was listed with
 * the same criteria; otherwise judged from the row (contact data, name/email containing the
 * search), which is what the server's filter does too.
 */
export function matchesCriteria(
  customer: MessagingCustomer,
  criteria: Criteria,
  listedWith?: Criteria,
): boolean {
  if (listedWith && sameCriteria(listedWith, criteria)) return true;
  // Booking history is the server's to judge: a row listed under other filters is not known
  // to match.
  if (!isEmptyAudience(criteria.audience)) return false;
  if (criteria.filterBy === 'has_email' && !customer.email) return false;
  if (criteria.filterBy === 'has_phone' && !customer.phone) return false;
  const search = criteria.search.trim().toLowerCase();
  if (!search) return true;
  return [customer.name, customer.email ?? ''].some((v) => v.toLowerCase().includes(search));
}

export function isSelected(
  selection: Selection,
  customer: MessagingCustomer,
  listedWith?: Criteria,
): boolean {
  if (selection.mode === 'ids') return selection.ids.has(customer.user_id);
  if (selection.extra.has(customer.user_id)) return true;
  if (selection.excluded.has(customer.user_id)) return false;
  return matchesCriteria(customer, selection.criteria, listedWith);
}

export function toggleCustomer(
  selection: Selection,
  customer: MessagingCustomer,
  checked: boolean,
  listedWith?: Criteria,
): Selection {
  const id = customer.user_id;
  if (selection.mode === 'ids') {
    const ids = new Set(selection.ids);
    if (checked) ids.add(id);
    else ids.delete(id);
    return { mode: 'ids', ids };
  }
  const excluded = new Set(selection.excluded);
  const extra = new Set(selection.extra);
  const matches = matchesCriteria(customer, selection.criteria, listedWith);
  if (checked) {
    excluded.delete(id);
    if (!matches) extra.add(id);
  } else {
    extra.delete(id);
    if (matches) excluded.add(id);
  }
  return { ...selection, excluded, extra };
}

export function setMany(
  selection: Selection,
  customers: MessagingCustomer[],
  checked: boolean,
  listedWith?: Criteria,
): Selection {
  return customers.reduce((s, c) => toggleCustomer(s, c, checked, listedWith), selection);
}

/** How many customers are selected; `matchingTotal` is the server's count for the criteria. */
export function selectedCount(selection: Selection, matchingTotal: number | undefined): number {
  if (selection.mode === 'ids') return selection.ids.size;
  return Math.max(0, (matchingTotal ?? 0) - selection.excluded.size) + selection.extra.size;
}

export function isEmpty(selection: Selection): boolean {
  return selection.mode === 'ids' && selection.ids.size === 0;
}

/**
 * The request bodies that add this selection as recipients. "All matching" says its audience
 * (the campaign records it, and the send checks it again); ids picked one by one are the
 * owner's own choice and carry none.
 */
export function toRequests(selection: Selection): RecipientSelection[] {
  if (selection.mode === 'ids') {
    return selection.ids.size ? [{ user_ids: [...selection.ids] }] : [];
  }
  const filters = normalizeAudience(selection.criteria.audience);
  const said = isEmptyAudience(filters)
    ? {}
    : {
        audience: { overdue_factor: DEFAULT_OVERDUE_FACTOR, ...filters },
        saved_audience_id: selection.criteria.savedAudienceId ?? null,
      };
  const requests: RecipientSelection[] = [
    {
      select_all: {
        filter_by: selection.criteria.filterBy,
        search: selection.criteria.search || null,
        exclude_user_ids: [...selection.excluded],
      },
      ...said,
    },
  ];
  if (selection.extra.size) requests.push({ user_ids: [...selection.extra] });
  return requests;
}
