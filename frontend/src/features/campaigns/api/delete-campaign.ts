import { useMutation, useQueryClient } from '@tanstack/react-query';

import { api } from '@/api/client';

export const deleteCampaign = (id: number) =>
  api<void>(`/owner/campaigns/${id}`, { method: 'DELETE' });

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
