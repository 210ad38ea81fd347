import { useMutation, useQueryClient } from '@tanstack/react-query';

import { api } from '@/api/client';
import type { Campaign } from '@/types/campaign';

/** Archive (hide from the list) or bring back a campaign; a sent one cannot be deleted. */
export const archiveCampaign = (id: number, archived: boolean) =>
  api<Campaign>(`/owner/campaigns/${id}/${archived ? 'archive' : 'unarchive'}`, {
    method: 'POST',
  });

export function useArchiveCampaign() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, archived }: { id: number; archived: boolean }) =>
      archiveCampaign(id, archived),
    onSuccess: (campaign) => {
      queryClient.setQueryData(['campaigns', 'detail', campaign.id], campaign);
      void queryClient.invalidateQueries({ queryKey: ['campaigns', 'list'] });
      void queryClient.invalidateQueries({ queryKey: ['campaigns', 'audit-events', campaign.id] });
    },
  });
}
