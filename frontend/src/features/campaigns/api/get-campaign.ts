import { queryOptions, useQuery } from '@tanstack/react-query';

import { api } from '@/api/client';
import type { Campaign } from '@/types/campaign';

export const getCampaign = (id: number, signal?: AbortSignal) =>
  api<Campaign>(`/owner/campaigns/${id}`, { signal });

/** Campaigns that are sending (or about to) move on their own: poll them. */
export const LIVE_STATUSES = new Set(['scheduled', 'sending']);

export const campaignQueryOptions = (id: number) =>
  queryOptions({
    queryKey: ['campaigns', 'detail', id],
    queryFn: ({ signal }) => getCampaign(id, signal),
    refetchInterval: (query) =>
      query.state.data && LIVE_STATUSES.has(query.state.data.status) ? 3000 : false,
  });

export function useCampaign(id: number | null) {
  return useQuery({ ...campaignQueryOptions(id ?? 0), enabled: id !== null && id > 0 });
}
