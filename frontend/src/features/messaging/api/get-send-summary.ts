import { queryOptions, useQuery } from '@tanstack/react-query';

import { client, data } from '@/api/client';

export const getSendSummary = (
  campaignId: number,
  sendImmediately: boolean | undefined,
  signal?: AbortSignal,
) =>
  data(
    client.GET('/owner/campaigns/{campaign_id}/send-summary', {
      params: { path: { campaign_id: campaignId }, query: { send_immediately: sendImmediately } },
      signal,
    }),
  );

export const sendSummaryQueryOptions = (campaignId: number, sendImmediately?: boolean) =>
  queryOptions({
    queryKey: ['messaging', campaignId, 'summary', sendImmediately ?? null],
    queryFn: ({ signal }) => getSendSummary(campaignId, sendImmediately, signal),
    staleTime: 0,
  });

/** What sending would do, and the checks it must pass (`sendImmediately`: now or later). */
export function useSendSummary(campaignId: number, sendImmediately?: boolean) {
  return useQuery({
    ...sendSummaryQueryOptions(campaignId, sendImmediately),
    enabled: campaignId > 0,
  });
}
