import { useMutation, useQueryClient } from '@tanstack/react-query';

import { client, data } from '@/api/client';
import type { CampaignUpdate } from '@/types/campaign';

export const updateCampaign = (id: number, body: CampaignUpdate) =>
  data(
    client.PATCH('/owner/campaigns/{campaign_id}', { params: { path: { campaign_id: id } }, body }),
  );

export function useUpdateCampaign() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, data }: { id: number; data: CampaignUpdate }) => updateCampaign(id, data),
    onSuccess: (campaign) => {
      queryClient.setQueryData(['campaigns', 'detail', campaign.id], campaign);
      void queryClient.invalidateQueries({ queryKey: ['campaigns', 'list'] });
      // Content and places feed the preview, the send summary and the stats.
      void queryClient.invalidateQueries({ queryKey: ['messaging', campaign.id] });
      void queryClient.invalidateQueries({ queryKey: ['campaigns', 'audit-events', campaign.id] });
    },
  });
}
