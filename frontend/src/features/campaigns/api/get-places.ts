import { queryOptions, useQuery } from '@tanstack/react-query';

import { client, data } from '@/api/client';

export const getPlaces = (signal?: AbortSignal) => data(client.GET('/owner/places', { signal }));

export const placesQueryOptions = () =>
  queryOptions({
    queryKey: ['places'],
    queryFn: ({ signal }) => getPlaces(signal),
    staleTime: 5 * 60_000,
  });

export function usePlaces() {
  return useQuery(placesQueryOptions());
}
