import { useMutation, useQueryClient } from '@tanstack/react-query';

import { api } from '@/api/client';
import type { Campaign, CampaignUpdate } from '@/types/campaign';

export const updateCampaign = (id: number, data: CampaignUpdate) =>
  api<Campaign>(`/owner/campaigns/${id}`, { method: 'PATCH', json: data });

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
