import { queryOptions, useQuery } from '@tanstack/react-query';

import { api } from '@/api/client';
import type { SendSummary } from '@/types/campaign';

export const getSendSummary = (
  campaignId: number,
  sendImmediately: boolean | undefined,
  signal?: AbortSignal,
) =>
  api<SendSummary>(`/owner/campaigns/${campaignId}/send-summary`, {
    signal,
    query: sendImmediately === undefined ? undefined : { send_immediately: sendImmediately },
  });

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
