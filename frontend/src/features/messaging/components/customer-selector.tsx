import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useId, useMemo, useRef, useState } from 'react';

import { errorMessage } from '@/api/client';
import { Alert } from '@/components/ui/alert';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { DataTable, type Column } from '@/components/ui/data-table';
import { EmptyState } from '@/components/ui/empty-state';
import { inputClass, selectClass } from '@/components/ui/field';
import { PaginationBar } from '@/components/ui/pagination';
import { LoadingBlock } from '@/components/ui/spinner';
import { formatDate, formatNumber } from '@/lib/format';
import { useDebouncedValue } from '@/lib/use-debounced-value';
import type { CustomerFilter, MessagingCustomer } from '@/types/campaign';

import {
  messagingCustomersQueryOptions,
  useMessagingCustomers,
} from '../api/get-messaging-customers';
import {
  emptySelection,
  isSelected,
  sameCriteria,
  selectAllMatching,
  selectedCount,
  setMany,
  toggleCustomer,
  type Criteria,
  type Selection,
} from '../lib/selection';

const FILTERS: { value: CustomerFilter; label: string }[] = [
  { value: 'all', label: 'All customers' },
  { value: 'has_email', label: 'Has email' },
  { value: 'has_phone', label: 'Has phone' },
];

export interface CustomerSelectorProps {
  placeIds: number[];
  value: Selection;
  onChange: (selection: Selection) => void;
  pageSize?: number;
}

/** The total the server reports for some criteria (one row fetched, cached by criteria). */
function useMatchingTotal(placeIds: number[], criteria: Criteria | null) {
  return useQuery({
    ...messagingCustomersQueryOptions({
      placeIds,
      filterBy: criteria?.filterBy ?? 'all',
      search: criteria?.search ?? '',
      page: 1,
      limit: 1,
    }),
    enabled: criteria !== null && placeIds.length > 0,
    // Another criteria's total is not this one's: "Counting…" until it arrives.
    placeholderData: undefined,
    select: (page) => page.pagination.total_count,
  });
}

/**
 * Search, filter and pick the customers of a campaign: consenting customers of the chosen
 * places, page by page, with bulk actions that the server resolves (select all of 200 000
 * customers sends a filter, not 200 000 ids).
 */
export function CustomerSelector({
  placeIds,
  value,
  onChange,
  pageSize: initialPageSize = 25,
}: CustomerSelectorProps) {
  const queryClient = useQueryClient();
  const searchId = useId();
  const filterId = useId();
  const [searchInput, setSearchInput] = useState('');
  const search = useDebouncedValue(searchInput, 300);
  const [filterBy, setFilterBy] = useState<CustomerFilter>('all');
  const [page, setPage] = useState(1);
  const [pageSize, setPageSize] = useState(initialPageSize);
  const view: Criteria = useMemo(() => ({ filterBy, search: search.trim() }), [filterBy, search]);

  // A new search or filter starts again at page 1.
  const lastView = useRef(view);
  useEffect(() => {
    if (!sameCriteria(lastView.current, view)) {
      lastView.current = view;
      setPage(1);
    }
  }, [view]);

  // Pages are walked one after the other: each is fetched after the previous page's cursor
  // (kept in the query cache), so page 4 000 costs what page 1 does.
  const previousPage =
    page > 1
      ? queryClient.getQueryData(
          messagingCustomersQueryOptions({ placeIds, ...view, page: page - 1, limit: pageSize })
            .queryKey,
        )
      : undefined;
  const customers = useMessagingCustomers(placeIds, {
    ...view,
    page,
    limit: pageSize,
    cursor: previousPage?.next_cursor,
  });
  const data = customers.data;
  const maxPage = data?.pagination.max_page ?? 1;
  const nextCursor = customers.isPlaceholderData ? undefined : data?.next_cursor;

  // Prefetch the next page so paging feels instant.
  useEffect(() => {
    if (placeIds.length && page < maxPage && nextCursor) {
      void queryClient.prefetchQuery(
        messagingCustomersQueryOptions({
          placeIds,
          ...view,
          page: page + 1,
          limit: pageSize,
          cursor: nextCursor,
        }),
      );
    }
  }, [queryClient, placeIds, view, page, maxPage, pageSize, nextCursor]);

  const everyone = useMatchingTotal(placeIds, { filterBy: 'all', search: '' });
  const criteria = value.mode === 'all' ? value.criteria : null;
  const matching = useMatchingTotal(placeIds, criteria);
  const total = everyone.data;
  const count = selectedCount(value, matching.data);
  const countKnown = value.mode === 'ids' || matching.data !== undefined;

  const rows = data?.items ?? [];
  const listedWith = data && !customers.isPlaceholderData ? view : undefined;
  const pageChecked = rows.length > 0 && rows.every((c) => isSelected(value, c, listedWith));
  const pageSome = rows.some((c) => isSelected(value, c, listedWith));

  const headerBox = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (headerBox.current) headerBox.current.indeterminate = pageSome && !pageChecked;
  }, [pageSome, pageChecked]);

  // While the search box still differs from the debounced search (or the page shown is the
  // previous one), the count on the button would belong to another term: it waits.
  const settled =
    searchInput.trim() === search.trim() && data !== undefined && !customers.isPlaceholderData;
  const matchingNow = settled ? data.pagination.total_count : undefined;
  const term = searchInput.trim();
  const describeSelectAll = term
    ? settled
      ? `Select all ${formatNumber(matchingNow ?? 0)} matching “${term}”`
      : `Counting matches for “${term}”…`
    : filterBy === 'all'
      ? 'Select all'
      : `Select all ${filterBy === 'has_email' ? 'with email' : 'with phone'}`;

  // "Select all …" replaces the selection; a replaced one can be brought back.
  const [replaced, setReplaced] = useState<{ previous: Selection; count: number } | null>(null);
  const replaceWith = (next: Selection) => {
    if (count > 0) setReplaced({ previous: value, count });
    else setReplaced(null);
    onChange(next);
  };

  const columns: Column<MessagingCustomer>[] = [
    {
      key: 'select',
      headerClassName: 'w-10',
      header: (
        <input
          ref={headerBox}
          type="checkbox"
          className="h-4 w-4 accent-teal-700"
          aria-label="Select every customer on this page"
          checked={pageChecked}
          onChange={(e) => onChange(setMany(value, rows, e.target.checked, listedWith))}
        />
      ),
      cell: (customer) => (
        <input
          type="checkbox"
          className="h-4 w-4 accent-teal-700"
          aria-label={`Select ${customer.name}`}
          checked={isSelected(value, customer, listedWith)}
          onChange={(e) => onChange(toggleCustomer(value, customer, e.target.checked, listedWith))}
        />
      ),
    },
    {
      key: 'name',
      header: 'Name',
      className: 'font-medium text-slate-900',
      cell: (customer) => (
        <>
          {customer.name}
          <span className="block text-xs font-normal text-slate-600">
            {formatNumber(customer.total_bookings)}{' '}
            {customer.total_bookings === 1 ? 'booking' : 'bookings'}
          </span>
        </>
      ),
    },
    {
      key: 'email',
      header: 'Email',
      className: 'break-all text-slate-700',
      cell: (customer) => customer.email ?? <span className="text-slate-500">No email</span>,
    },
    {
      key: 'phone',
      header: 'Phone',
      hideBelow: 'sm',
      className: 'whitespace-nowrap text-slate-700',
      cell: (customer) =>
        customer.phone ??
        (customer.phone_invalid ? (
          <span
            className="text-amber-800"
            title="Not a valid phone number: WhatsApp cannot reach it."
          >
            Invalid number
          </span>
        ) : (
          <span className="text-slate-500">No phone</span>
        )),
    },
    {
      key: 'places',
      header: 'Places',
      hideBelow: 'md',
      className: 'text-slate-700',
      cell: (customer) => customer.places.map((p) => p.name).join(', '),
    },
    {
      key: 'consent',
      header: 'Consent',
      hideBelow: 'md',
      cell: (customer) =>
        customer.gdpr_marketing_consent ? (
          <Badge tone="green">Consented</Badge>
        ) : (
          <Badge tone="red">No consent</Badge>
        ),
    },
    {
      key: 'last-booking',
      header: 'Last booking',
      hideBelow: 'lg',
      className: 'whitespace-nowrap text-slate-700',
      cell: (customer) => formatDate(customer.last_booking_date),
    },
  ];

  return (
    <section aria-label="Customers" className="space-y-4">
      <div className="flex flex-col gap-3 md:flex-row md:items-end">
        <div className="flex-1">
          <label htmlFor={searchId} className="mb-1 block text-sm font-medium text-slate-800">
            Search customers
          </label>
          <input
            id={searchId}
            type="search"
            className={inputClass}
            placeholder="Name or email"
            value={searchInput}
            onChange={(e) => setSearchInput(e.target.value)}
          />
        </div>
        <div>
          <label htmlFor={filterId} className="mb-1 block text-sm font-medium text-slate-800">
            Show
          </label>
          <select
            id={filterId}
            className={`${selectClass} w-full md:w-auto`}
            value={filterBy}
            onChange={(e) => setFilterBy(e.target.value as CustomerFilter)}
          >
            {FILTERS.map((f) => (
              <option key={f.value} value={f.value}>
                {f.label}
              </option>
            ))}
          </select>
        </div>
      </div>

      <div
        className="flex flex-wrap items-center gap-2"
        role="group"
        aria-label="Bulk selection"
        aria-describedby={`${searchId}-bulk-hint`}
      >
        <Button
          variant="secondary"
          size="sm"
          disabled={!settled || matchingNow === 0}
          onClick={() => replaceWith(selectAllMatching(view))}
        >
          {describeSelectAll}
        </Button>
        <Button
          variant="secondary"
          size="sm"
          disabled={count === 0 && value.mode === 'ids'}
          onClick={() => replaceWith(emptySelection())}
        >
          Deselect all
        </Button>
        <Button
          variant="secondary"
          size="sm"
          onClick={() => replaceWith(selectAllMatching({ filterBy: 'has_email', search: '' }))}
        >
          Select with email
        </Button>
        <Button
          variant="secondary"
          size="sm"
          onClick={() => replaceWith(selectAllMatching({ filterBy: 'has_phone', search: '' }))}
        >
          Select with phone
        </Button>
        <span id={`${searchId}-bulk-hint`} className="text-xs text-slate-600">
          Each of these replaces the current selection.
        </span>
      </div>
      {replaced && (
        <p className="flex flex-wrap items-center gap-2 text-sm text-slate-700" role="status">
          Replaced a selection of {formatNumber(replaced.count)}{' '}
          {replaced.count === 1 ? 'customer' : 'customers'}.
          <Button
            variant="ghost"
            size="sm"
            onClick={() => {
              onChange(replaced.previous);
              setReplaced(null);
            }}
          >
            Undo
          </Button>
        </p>
      )}

      <p
        className="rounded-md bg-teal-50 px-3 py-2 text-sm font-medium text-teal-900"
        aria-live="polite"
        data-testid="selection-count"
      >
        {countKnown && total !== undefined
          ? `${formatNumber(count)} of ${formatNumber(total)} customers selected`
          : 'Counting customers…'}
        {value.mode === 'all' && countKnown && (
          <span className="font-normal">
            {' '}
            (all{' '}
            {value.criteria.filterBy === 'has_email'
              ? 'with email'
              : value.criteria.filterBy === 'has_phone'
                ? 'with a phone'
                : 'customers'}
            {value.criteria.search ? ` matching “${value.criteria.search}”` : ''}
            {value.excluded.size ? `, ${formatNumber(value.excluded.size)} unticked` : ''}
            {value.extra.size ? `, ${formatNumber(value.extra.size)} added` : ''})
          </span>
        )}
      </p>

      {customers.isError ? (
        <Alert tone="error" title="The customers could not be loaded">
          {errorMessage(customers.error)}
        </Alert>
      ) : customers.isPending ? (
        <LoadingBlock label="Loading customers…" />
      ) : rows.length === 0 ? (
        <EmptyState title="No customers match">
          {view.search || filterBy !== 'all'
            ? 'Try another search or filter.'
            : 'Only customers who booked at these places and agreed to marketing messages are listed.'}
        </EmptyState>
      ) : (
        <DataTable
          caption={`Customers who agreed to marketing messages, page ${page}`}
          columns={columns}
          rows={rows}
          rowKey={(customer) => customer.user_id}
          rowClassName={(customer) =>
            isSelected(value, customer, listedWith) ? 'bg-teal-50/60' : undefined
          }
          stale={customers.isPlaceholderData}
        />
      )}

      {data && rows.length > 0 && (
        <div className="flex flex-wrap items-center justify-between gap-3">
          <PaginationBar
            page={page}
            maxPage={maxPage}
            totalCount={data.pagination.total_count}
            onPage={setPage}
            label="customers"
            busy={customers.isFetching}
          />
          <label className="flex items-center gap-2 text-sm text-slate-700">
            Per page
            <select
              className={selectClass}
              value={pageSize}
              onChange={(e) => {
                setPageSize(Number(e.target.value));
                setPage(1);
              }}
            >
              {[25, 50, 100].map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </label>
        </div>
      )}
    </section>
  );
}
