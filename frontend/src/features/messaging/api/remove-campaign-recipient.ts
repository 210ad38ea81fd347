import { useMutation, useQueryClient } from '@tanstack/react-query';

import { client, done } from '@/api/client';

export const removeCampaignRecipient = (campaignId: number, recipientId: number) =>
  done(
    client.DELETE('/owner/campaigns/{campaign_id}/recipients/{recipient_id}', {
      params: { path: { campaign_id: campaignId, recipient_id: recipientId } },
    }),
  );

export function useRemoveCampaignRecipient() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ campaignId, recipientId }: { campaignId: number; recipientId: number }) =>
      removeCampaignRecipient(campaignId, recipientId),
    onSuccess: (_, { campaignId }) =>
      queryClient.invalidateQueries({ queryKey: ['messaging', campaignId] }),
  });
}
