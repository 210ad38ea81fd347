import { useMutation, useQueryClient } from '@tanstack/react-query';

import { api } from '@/api/client';
import type { Place } from '@/types/campaign';

export const updatePlaceReplyTo = (placeId: number, replyTo: string | null) =>
  api<Place>(`/owner/places/${placeId}`, {
    method: 'PATCH',
    json: { reply_to_email: replyTo },
  });

/** Where customers' replies to a place's emails go. */
export function useUpdatePlaceReplyTo() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ placeId, replyTo }: { placeId: number; replyTo: string | null }) =>
      updatePlaceReplyTo(placeId, replyTo),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['places'] }),
  });
}
