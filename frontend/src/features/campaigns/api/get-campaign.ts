import { queryOptions, useQuery } from '@tanstack/react-query';

import { client, data } from '@/api/client';

export const getCampaign = (id: number, signal?: AbortSignal) =>
  data(
    client.GET('/owner/campaigns/{campaign_id}', { params: { path: { campaign_id: id } }, signal }),
  );

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
