import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { client, data } from '@/api/client';
import type { AudienceFilters } from '@/types/campaign';

import { DEFAULT_OVERDUE_FACTOR } from '../lib/audience';

export const audiencesQueryOptions = (placeIds: number[]) =>
  queryOptions({
    queryKey: ['audiences', { placeIds: [...placeIds].sort((a, b) => a - b) }],
    queryFn: ({ signal }) =>
      data(
        client.GET('/owner/audiences', {
          params: { query: { place_ids: [...placeIds].sort((a, b) => a - b) } },
          signal,
        }),
      ),
    staleTime: 30_000,
  });

/** The presets and the owner's saved audiences, each with its live count at these places. */
export function useAudiences(placeIds: number[]) {
  return useQuery({ ...audiencesQueryOptions(placeIds), enabled: placeIds.length > 0 });
}

export function useServices() {
  return useQuery({
    queryKey: ['services'],
    queryFn: ({ signal }) => data(client.GET('/owner/services', { signal })),
    staleTime: 300_000,
  });
}

export function useSaveAudience() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ name, filters }: { name: string; filters: AudienceFilters }) =>
      data(
        client.POST('/owner/audiences', {
          body: { name, filters: { overdue_factor: DEFAULT_OVERDUE_FACTOR, ...filters } },
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['audiences'] }),
  });
}
