import { useMutation, useQueryClient } from '@tanstack/react-query';

import { client, data } from '@/api/client';
import type { RecipientSelection, RecipientsChanged } from '@/types/campaign';

export const addCampaignRecipients = (campaignId: number, selection: RecipientSelection) =>
  data(
    client.POST('/owner/campaigns/{campaign_id}/recipients', {
      params: { path: { campaign_id: campaignId } },
      body: selection,
    }),
  );

export const clearCampaignRecipients = (campaignId: number) =>
  data(
    client.DELETE('/owner/campaigns/{campaign_id}/recipients', {
      params: { path: { campaign_id: campaignId } },
    }),
  );

/**
 * Replaces the campaign's pending recipients with a selection: the pending ones are removed,
 * then the selection is added (by ids, or "all matching" resolved on the server, then any ids
 * picked outside that filter).
 */
export async function replaceCampaignRecipients(
  campaignId: number,
  selections: RecipientSelection[],
): Promise<RecipientsChanged> {
  let result = await clearCampaignRecipients(campaignId);
  for (const selection of selections) {
    if ('user_ids' in selection && selection.user_ids.length === 0) continue;
    result = await addCampaignRecipients(campaignId, selection);
  }
  return result;
}

export function useAddCampaignRecipients() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({
      campaignId,
      selections,
      replace = true,
    }: {
      campaignId: number;
      selections: RecipientSelection[];
      replace?: boolean;
    }) =>
      replace
        ? replaceCampaignRecipients(campaignId, selections)
        : Promise.all(selections.map((s) => addCampaignRecipients(campaignId, s))).then(
            (results) => results[results.length - 1]!,
          ),
    onSuccess: (_, { campaignId }) =>
      queryClient.invalidateQueries({ queryKey: ['messaging', campaignId] }),
  });
}

export function useClearCampaignRecipients() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: clearCampaignRecipients,
    onSuccess: (_, campaignId) =>
      queryClient.invalidateQueries({ queryKey: ['messaging', campaignId] }),
  });
}
