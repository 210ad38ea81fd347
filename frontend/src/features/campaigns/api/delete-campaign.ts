import { useMutation, useQueryClient } from '@tanstack/react-query';

import { client, done } from '@/api/client';

export const deleteCampaign = (id: number) =>
  done(client.DELETE('/owner/campaigns/{campaign_id}', { params: { path: { campaign_id: id } } }));

export function useDeleteCampaign() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: deleteCampaign,
    onSuccess: (_, id) => {
      queryClient.removeQueries({ queryKey: ['campaigns', 'detail', id] });
      queryClient.removeQueries({ queryKey: ['messaging', id] });
      void queryClient.invalidateQueries({ queryKey: ['campaigns', 'list'] });
    },
  });
}
