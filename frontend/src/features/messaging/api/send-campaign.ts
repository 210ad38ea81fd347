import { useMutation, useQueryClient, type QueryClient } from '@tanstack/react-query';

import { client, data } from '@/api/client';
import type { Campaign } from '@/types/campaign';

export const sendCampaign = (campaignId: number, sendImmediately: boolean) =>
  data(
    client.POST('/owner/campaigns/{campaign_id}/send', {
      params: { path: { campaign_id: campaignId }, query: { send_immediately: sendImmediately } },
    }),
  );

export const cancelCampaign = (campaignId: number) =>
  data(
    client.POST('/owner/campaigns/{campaign_id}/cancel', {
      params: { path: { campaign_id: campaignId } },
    }),
  );

export const retryFailed = (campaignId: number) =>
  data(
    client.POST('/owner/campaigns/{campaign_id}/retry-failed', {
      params: { path: { campaign_id: campaignId } },
    }),
  );

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
