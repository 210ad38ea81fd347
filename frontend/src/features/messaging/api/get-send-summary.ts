import { queryOptions, useQuery } from '@tanstack/react-query';

import { api } from '@/api/client';
import type { SendSummary } from '@/types/campaign';

export const getSendSummary = (campaignId: number, signal?: AbortSignal) =>
  api<SendSummary>(`/owner/campaigns/${campaignId}/send-summary`, { signal });

export const sendSummaryQueryOptions = (campaignId: number) =>
  queryOptions({
    queryKey: ['messaging', campaignId, 'summary'],
    queryFn: ({ signal }) => getSendSummary(campaignId, signal),
    staleTime: 0,
  });

export function useSendSummary(campaignId: number) {
  return useQuery({ ...sendSummaryQueryOptions(campaignId), enabled: campaignId > 0 });
}
