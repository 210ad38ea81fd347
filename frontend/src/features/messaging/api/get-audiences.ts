import { queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { api } from '@/api/client';
import type { Audience, AudienceFilters, AudienceList, Service } from '@/types/campaign';

export const audiencesQueryOptions = (placeIds: number[]) =>
  queryOptions({
    queryKey: ['audiences', { placeIds: [...placeIds].sort((a, b) => a - b) }],
    queryFn: ({ signal }) =>
      api<AudienceList>('/owner/audiences', {
        query: { place_ids: [...placeIds].sort((a, b) => a - b) },
        signal,
      }),
    staleTime: 30_000,
  });

/** The presets and the owner's saved audiences, each with its live count at these places. */
export function useAudiences(placeIds: number[]) {
  return useQuery({ ...audiencesQueryOptions(placeIds), enabled: placeIds.length > 0 });
}

export function useServices() {
  return useQuery({
    queryKey: ['services'],
    queryFn: ({ signal }) => api<Service[]>('/owner/services', { signal }),
    staleTime: 300_000,
  });
}

export function useSaveAudience() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (data: { name: string; filters: AudienceFilters }) =>
      api<Audience>('/owner/audiences', { method: 'POST', json: data }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['audiences'] }),
  });
}
