import { useMutation, useQueryClient } from '@tanstack/react-query';

import { api } from '@/api/client';

export const removeCampaignRecipient = (campaignId: number, recipientId: number) =>
  api<void>(`/owner/campaigns/${campaignId}/recipients/${recipientId}`, { method: 'DELETE' });

export function useRemoveCampaignRecipient() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ campaignId, recipientId }: { campaignId: number; recipientId: number }) =>
      removeCampaignRecipient(campaignId, recipientId),
    onSuccess: (_, { campaignId }) =>
      queryClient.invalidateQueries({ queryKey: ['messaging', campaignId] }),
  });
}
