import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';

import { client, data } from '@/api/client';
import type { CampaignStatus, CampaignType } from '@/types/campaign';

export interface CampaignListParams {
  page: number;
  limit?: number;
  campaign_type?: CampaignType | null;
  status?: CampaignStatus | null;
  /** Only archived campaigns; left out, the current ones (or all of a status). */
  archived?: boolean | null;
}

export const getCampaigns = (params: CampaignListParams, signal?: AbortSignal) =>
  data(
    client.GET('/owner/campaigns', {
      params: {
        query: {
          page: params.page,
          limit: params.limit ?? 20,
          campaign_type: params.campaign_type,
          status: params.status,
          archived: params.archived || undefined,
        },
      },
      signal,
    }),
  );

export const campaignsQueryOptions = (params: CampaignListParams) =>
  queryOptions({
    queryKey: ['campaigns', 'list', params],
    queryFn: ({ signal }) => getCampaigns(params, signal),
    placeholderData: keepPreviousData,
  });

export function useCampaigns(params: CampaignListParams) {
  return useQuery(campaignsQueryOptions(params));
}
