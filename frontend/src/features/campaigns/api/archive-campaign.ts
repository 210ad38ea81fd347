import { useMutation, useQueryClient } from '@tanstack/react-query';

import { client, data } from '@/api/client';

/** Archive (hide from the list) or bring back a campaign; a sent one cannot be deleted. */
export const archiveCampaign = (id: number, archived: boolean) =>
  data(
    client.POST(
      archived
        ? '/owner/campaigns/{campaign_id}/archive'
        : '/owner/campaigns/{campaign_id}/unarchive',
      { params: { path: { campaign_id: id } } },
    ),
  );

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
