import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';

import { client, data } from '@/api/client';
import type { Channel } from '@/types/campaign';

export interface OutboxParams {
  channel?: Channel | null;
  page: number;
  limit?: number;
}

export const getOutbox = (params: OutboxParams, signal?: AbortSignal) =>
  data(
    client.GET('/owner/outbox', {
      params: { query: { channel: params.channel, page: params.page, limit: params.limit ?? 25 } },
      signal,
    }),
  );

export const outboxQueryOptions = (params: OutboxParams) =>
  queryOptions({
    queryKey: ['outbox', params],
    queryFn: ({ signal }) => getOutbox(params, signal),
    placeholderData: keepPreviousData,
    refetchInterval: 5000,
  });

export function useOutbox(params: OutboxParams) {
  return useQuery(outboxQueryOptions(params));
}
