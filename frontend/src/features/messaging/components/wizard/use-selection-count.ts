import { useQuery } from '@tanstack/react-query';

import { messagingCustomersQueryOptions } from '../../api/get-messaging-customers';
import { selectedCount, type Selection } from '../../lib/selection';

/** How many customers a selection holds (asks the server for "all matching" totals). */
export function useSelectionCount(placeIds: number[], selection: Selection): number | undefined {
  const criteria = selection.mode === 'all' ? selection.criteria : null;
  const total = useQuery({
    ...messagingCustomersQueryOptions({
      placeIds,
      filterBy: criteria?.filterBy ?? 'all',
      search: criteria?.search ?? '',
      page: 1,
      limit: 1,
    }),
    enabled: criteria !== null && placeIds.length > 0,
    select: (page) => page.pagination.total_count,
  });
  if (selection.mode === 'all' && total.data === undefined) return undefined;
  return selectedCount(selection, total.data);
}
