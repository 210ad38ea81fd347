import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';

import { api } from '@/api/client';
import type { CustomerFilter, CustomerPage } from '@/types/campaign';

export interface MessagingCustomersParams {
  placeIds: number[];
  filterBy: CustomerFilter;
  search: string;
  page: number;
  limit: number;
}

export const getMessagingCustomers = (p: MessagingCustomersParams, signal?: AbortSignal) =>
  api<CustomerPage>('/owner/campaigns/messaging/customers', {
    query: {
      place_ids: [...p.placeIds].sort((a, b) => a - b),
      filter_by: p.filterBy,
      search: p.search.trim() || undefined,
      page: p.page,
      limit: p.limit,
    },
    signal,
  });

export const messagingCustomersQueryOptions = (p: MessagingCustomersParams) =>
  queryOptions({
    queryKey: [
      'messaging-customers',
      { ...p, placeIds: [...p.placeIds].sort((a, b) => a - b), search: p.search.trim() },
    ],
    queryFn: ({ signal }) => getMessagingCustomers(p, signal),
    placeholderData: keepPreviousData,
    staleTime: 30_000,
  });

/** Consenting, reachable customers who booked at these places (a page of them). */
export function useMessagingCustomers(
  placeIds: number[],
  filters: Omit<MessagingCustomersParams, 'placeIds'>,
) {
  return useQuery({
    ...messagingCustomersQueryOptions({ placeIds, ...filters }),
    enabled: placeIds.length > 0,
  });
}
