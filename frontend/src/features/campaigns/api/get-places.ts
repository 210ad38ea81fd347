import { queryOptions, useQuery } from '@tanstack/react-query';

import { api } from '@/api/client';
import type { Place } from '@/types/campaign';

export const getPlaces = (signal?: AbortSignal) => api<Place[]>('/owner/places', { signal });

export const placesQueryOptions = () =>
  queryOptions({
    queryKey: ['places'],
    queryFn: ({ signal }) => getPlaces(signal),
    staleTime: 5 * 60_000,
  });

export function usePlaces() {
  return useQuery(placesQueryOptions());
}
