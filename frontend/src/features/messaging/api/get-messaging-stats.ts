import { queryOptions, useQuery } from '@tanstack/react-query';

import { client, data } from '@/api/client';

export const getMessagingStats = (campaignId: number, signal?: AbortSignal) =>
  data(
    client.GET('/owner/campaigns/{campaign_id}/messaging-stats', {
      params: { path: { campaign_id: campaignId } },
      signal,
    }),
  );

const LIVE = new Set(['sending', 'scheduled']);

/** Stats poll every 2 s while the campaign is sending (or due to start). */
export const messagingStatsQueryOptions = (campaignId: number) =>
  queryOptions({
    queryKey: ['messaging', campaignId, 'stats'],
    queryFn: ({ signal }) => getMessagingStats(campaignId, signal),
    refetchInterval: (query) => {
      const data = query.state.data;
      if (!data) return false;
      return LIVE.has(data.status) ||
        (data.status !== 'draft' && data.pending > 0 && data.status !== 'cancelled')
        ? 2000
        : false;
    },
  });

export function useMessagingStats(campaignId: number, enabled = true) {
  return useQuery({
    ...messagingStatsQueryOptions(campaignId),
    enabled: enabled && campaignId > 0,
  });
}
