import { useMutation, useQueryClient } from '@tanstack/react-query';

import { api } from '@/api/client';
import type { Campaign, CampaignCreate } from '@/types/campaign';

export const createCampaign = (data: CampaignCreate) =>
  api<Campaign>('/owner/campaigns', { method: 'POST', json: data });

export function useCreateCampaign() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: createCampaign,
    onSuccess: (campaign) => {
      queryClient.setQueryData(['campaigns', 'detail', campaign.id], campaign);
      void queryClient.invalidateQueries({ queryKey: ['campaigns', 'list'] });
    },
  });
}
