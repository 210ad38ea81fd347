import { formatNumber, plural } from '@/lib/format';

import { Button } from './button';

interface PaginationProps {
  page: number;
  /** null when the total is not known: Next then follows `hasNext`. */
  maxPage: number | null;
  totalCount: number | null;
  hasNext?: boolean;
  onPage: (page: number) => void;
  label?: string;
  busy?: boolean;
}

export function PaginationBar({
  page,
  maxPage,
  totalCount,
  onPage,
  label = 'items',
  busy,
  hasNext,
}: PaginationProps) {
  const last = maxPage === null ? !hasNext : page >= maxPage;
  return (
    <nav
      aria-label={`Pages of ${label}`}
      className="flex flex-wrap items-center justify-between gap-2 text-sm text-slate-700"
    >
      <p aria-live="polite">
        Page {formatNumber(page)}
        {maxPage !== null && totalCount !== null && (
          <>
            {' '}
            of {formatNumber(maxPage)} · {plural(totalCount, label.replace(/s$/, ''), label)}
          </>
        )}
        {busy ? ' · loading…' : ''}
      </p>
      <div className="flex gap-2">
        <Button
          variant="secondary"
          size="sm"
          aria-label="Previous page"
          disabled={page <= 1}
          onClick={() => onPage(page - 1)}
        >
          Previous
        </Button>
        <Button
          variant="secondary"
          size="sm"
          aria-label="Next page"
          disabled={last}
          onClick={() => onPage(page + 1)}
        >
          Next
        </Button>
      </div>
    </nav>
  );
}
