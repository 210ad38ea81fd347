import { queryOptions, useQuery } from '@tanstack/react-query';

import { client, data } from '@/api/client';

export const previewCampaign = (campaignId: number, userId: number | null, signal?: AbortSignal) =>
  data(
    client.POST('/owner/campaigns/{campaign_id}/preview', {
      params: { path: { campaign_id: campaignId } },
      body: userId ? { user_id: userId } : {},
      signal,
    }),
  );

/** `version` (the campaign's updated_at) makes a saved change fetch a fresh preview. */
export const campaignPreviewQueryOptions = (
  campaignId: number,
  userId: number | null,
  version: string,
) =>
  queryOptions({
    queryKey: ['messaging', campaignId, 'preview', userId, version],
    queryFn: ({ signal }) => previewCampaign(campaignId, userId, signal),
    staleTime: 60_000,
  });

export function useCampaignPreview(campaignId: number, userId: number | null, version: string) {
  return useQuery(campaignPreviewQueryOptions(campaignId, userId, version));
}
