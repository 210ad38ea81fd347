import { useMutation, useQueryClient, type QueryClient } from '@tanstack/react-query';

import { api } from '@/api/client';
import type { Campaign } from '@/types/campaign';

export const sendCampaign = (campaignId: number, sendImmediately: boolean) =>
  api<Campaign>(`/owner/campaigns/${campaignId}/send`, {
    method: 'POST',
    query: { send_immediately: sendImmediately },
  });

export const cancelCampaign = (campaignId: number) =>
  api<Campaign>(`/owner/campaigns/${campaignId}/cancel`, { method: 'POST' });

export const retryFailed = (campaignId: number) =>
  api<{ retried: number }>(`/owner/campaigns/${campaignId}/retry-failed`, { method: 'POST' });

function refreshCampaign(queryClient: QueryClient, campaignId: number, campaign?: Campaign) {
  if (campaign) queryClient.setQueryData(['campaigns', 'detail', campaignId], campaign);
  else void queryClient.invalidateQueries({ queryKey: ['campaigns', 'detail', campaignId] });
  void queryClient.invalidateQueries({ queryKey: ['campaigns', 'list'] });
  void queryClient.invalidateQueries({ queryKey: ['messaging', campaignId] });
  void queryClient.invalidateQueries({ queryKey: ['outbox'] });
  void queryClient.invalidateQueries({ queryKey: ['campaigns', 'audit-events', campaignId] });
}

/** Sends now or schedules at the campaign's `scheduled_send_time`. */
export function useSendCampaign() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({
      campaignId,
      sendImmediately,
    }: {
      campaignId: number;
      sendImmediately: boolean;
    }) => sendCampaign(campaignId, sendImmediately),
    onSuccess: (campaign, { campaignId }) => refreshCampaign(queryClient, campaignId, campaign),
  });
}

export function useCancelCampaign() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: cancelCampaign,
    onSuccess: (campaign, campaignId) => refreshCampaign(queryClient, campaignId, campaign),
  });
}

export function useRetryFailed() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: retryFailed,
    onSuccess: (_, campaignId) => refreshCampaign(queryClient, campaignId),
  });
}
