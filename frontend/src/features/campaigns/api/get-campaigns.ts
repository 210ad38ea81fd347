import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';

import { api } from '@/api/client';
import type { Campaign, CampaignStatus, CampaignType, Page } from '@/types/campaign';

export interface CampaignListParams {
  page: number;
  limit?: number;
  campaign_type?: CampaignType | null;
  status?: CampaignStatus | null;
  /** Only archived campaigns; left out, the current ones (or all of a status). */
  archived?: boolean | null;
}

export const getCampaigns = (params: CampaignListParams, signal?: AbortSignal) =>
  api<Page<Campaign>>('/owner/campaigns', {
    query: {
      page: params.page,
      limit: params.limit ?? 20,
      campaign_type: params.campaign_type,
      status: params.status,
      archived: params.archived || undefined,
    },
    signal,
  });

export const campaignsQueryOptions = (params: CampaignListParams) =>
  queryOptions({
    queryKey: ['campaigns', 'list', params],
    queryFn: ({ signal }) => getCampaigns(params, signal),
    placeholderData: keepPreviousData,
  });

export function useCampaigns(params: CampaignListParams) {
  return useQuery(campaignsQueryOptions(params));
}
