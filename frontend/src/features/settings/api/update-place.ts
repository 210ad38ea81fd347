import { useMutation, useQueryClient } from '@tanstack/react-query';

import { client, data } from '@/api/client';

export const updatePlaceReplyTo = (placeId: number, replyTo: string | null) =>
  data(
    client.PATCH('/owner/places/{place_id}', {
      params: { path: { place_id: placeId } },
      body: { reply_to_email: replyTo },
    }),
  );

/** Where customers' replies to a place's emails go. */
export function useUpdatePlaceReplyTo() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ placeId, replyTo }: { placeId: number; replyTo: string | null }) =>
      updatePlaceReplyTo(placeId, replyTo),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['places'] }),
  });
}
