import { queryOptions, useQuery } from '@tanstack/react-query';

import { client, data } from '@/api/client';
import type { components } from '@/api/schema';

export type Deliverability = components['schemas']['DeliverabilityRead'];

export const getDeliverability = (signal?: AbortSignal) =>
  data(client.GET('/owner/deliverability', { signal }));

export const deliverabilityQueryOptions = () =>
  queryOptions({
    queryKey: ['owner', 'deliverability'],
    queryFn: ({ signal }) => getDeliverability(signal),
    staleTime: 60_000,
  });

/** The owner's complaint rate, and whether their emails are held. */
export function useDeliverability() {
  return useQuery(deliverabilityQueryOptions());
}
