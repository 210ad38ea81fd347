import { keepPreviousData, queryOptions, useQuery } from '@tanstack/react-query';

import { client, data } from '@/api/client';

export const AUDIT_PAGE_SIZE = 20;

export const getCampaignAuditEvents = (campaignId: number, page: number, signal?: AbortSignal) =>
  data(
    client.GET('/owner/campaigns/{campaign_id}/audit-events', {
      params: { path: { campaign_id: campaignId }, query: { page, limit: AUDIT_PAGE_SIZE } },
      signal,
    }),
  );

/** The campaign's history, newest first; polled while the campaign moves by itself. */
export const campaignAuditEventsQueryOptions = (campaignId: number, page: number, live = false) =>
  queryOptions({
    queryKey: ['campaigns', 'audit-events', campaignId, page],
    queryFn: ({ signal }) => getCampaignAuditEvents(campaignId, page, signal),
    placeholderData: keepPreviousData,
    refetchInterval: live ? 5000 : false,
  });

export function useCampaignAuditEvents(campaignId: number, page: number, live = false) {
  return useQuery(campaignAuditEventsQueryOptions(campaignId, page, live));
}
