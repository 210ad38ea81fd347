import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';

import { client, data } from '@/api/client';
import type { CustomerFilter } from '@/types/campaign';

export interface MessagingCustomersParams {
  placeIds: number[];
  filterBy: CustomerFilter;
  search: string;
  page: number;
  limit: number;
  /** The previous page's `next_cursor`: the server seeks instead of skipping rows (fast at
   * any depth). Not part of the cache key: it only says how to fetch `page`. */
  cursor?: string | null;
}

export const getMessagingCustomers = (p: MessagingCustomersParams, signal?: AbortSignal) =>
  data(
    client.GET('/owner/campaigns/messaging/customers', {
      params: {
        query: {
          place_ids: [...p.placeIds].sort((a, b) => a - b),
          filter_by: p.filterBy,
          search: p.search.trim() || undefined,
          page: p.page,
          limit: p.limit,
          cursor: p.cursor,
        },
      },
      signal,
    }),
  );

export const messagingCustomersQueryOptions = (p: MessagingCustomersParams) =>
  // eslint-disable-next-line @tanstack/query/exhaustive-deps -- the cursor is how, not what
  queryOptions({
    queryKey: [
      'messaging-customers',
      {
        placeIds: [...p.placeIds].sort((a, b) => a - b),
        filterBy: p.filterBy,
        search: p.search.trim(),
        page: p.page,
        limit: p.limit,
      },
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
