import { queryOptions, useQuery } from '@tanstack/react-query';

import { client, data } from '@/api/client';

export const getCampaign = (id: number, signal?: AbortSignal) =>
  data(
    client.GET('/owner/campaigns/{campaign_id}', { params: { path: { campaign_id: id } }, signal }),
  );

export const campaignQueryOptions = (id: number) =>
  queryOptions({
    queryKey: ['campaigns', 'detail', id],
    queryFn: ({ signal }) => getCampaign(id, signal),
    // A campaign that can be cancelled is sending (or about to) and moves on its own.
    refetchInterval: (query) => (query.state.data?.can_cancel ? 3000 : false),
  });

export function useCampaign(id: number | null) {
  return useQuery({ ...campaignQueryOptions(id ?? 0), enabled: id !== null && id > 0 });
}
