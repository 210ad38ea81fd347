import type { ReactNode } from 'react';

export interface Column<T> {
  key: string;
  header: ReactNode;
  cell: (row: T) => ReactNode;
  /** Narrow screens leave the column out below this breakpoint. */
  hideBelow?: 'sm' | 'md' | 'lg';
  /** The cell names its row for screen readers (`<th scope="row">`). */
  rowHeader?: boolean;
  className?: string;
  headerClassName?: string;
}

interface DataTableProps<T> {
  /** Read by screen readers only: what the table lists. */
  caption: string;
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string | number;
  rowClassName?: (row: T) => string | undefined;
  /** `card`: a bordered list of records; `plain`: a few figures inside a panel. */
  variant?: 'card' | 'plain';
  /** Faded while the rows shown are the previous page's. */
  stale?: boolean;
  /** Makes the scrolling wrapper a named, focusable region (the keyboard can scroll it). */
  scrollLabel?: string;
  testId?: string;
}

// Written out in full so that Tailwind finds the classes.
const HIDE_BELOW = {
  sm: 'hidden sm:table-cell',
  md: 'hidden md:table-cell',
  lg: 'hidden lg:table-cell',
};

const STYLES = {
  card: {
    table: 'min-w-full divide-y divide-slate-200 text-sm',
    head: 'bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-700',
    headCell: 'px-3 py-2',
    body: 'divide-y divide-slate-100 bg-white',
    row: '',
    cell: 'px-3 py-2',
  },
  plain: {
    table: 'w-full text-sm',
    head: 'text-left text-xs uppercase tracking-wide text-slate-700',
    headCell: 'py-1 pr-3',
    body: '',
    row: 'border-t border-teal-200',
    cell: 'py-1 pr-3',
  },
} as const;

const classes = (...names: (string | false | undefined)[]) => names.filter(Boolean).join(' ');

/** The app's one table: columns described once, rows rendered from data. */
export function DataTable<T>({
  caption,
  columns,
  rows,
  rowKey,
  rowClassName,
  variant = 'card',
  stale = false,
  scrollLabel,
  testId,
}: DataTableProps<T>) {
  const style = STYLES[variant];
  const table = (
    <table className={style.table} data-testid={testId}>
      <caption className="sr-only">{caption}</caption>
      <thead className={variant === 'card' ? style.head : undefined}>
        <tr className={variant === 'plain' ? style.head : undefined}>
          {columns.map((c) => (
            <th
              key={c.key}
              scope="col"
              className={classes(
                c.hideBelow && HIDE_BELOW[c.hideBelow],
                style.headCell,
                c.headerClassName,
              )}
            >
              {c.header}
            </th>
          ))}
        </tr>
      </thead>
      <tbody className={classes(style.body, stale && 'opacity-60')}>
        {rows.map((row) => (
          <tr key={rowKey(row)} className={classes(style.row, rowClassName?.(row)) || undefined}>
            {columns.map((c) => {
              const className = classes(
                c.hideBelow && HIDE_BELOW[c.hideBelow],
                style.cell,
                c.rowHeader && 'text-left font-medium',
                c.className,
              );
              return c.rowHeader ? (
                <th key={c.key} scope="row" className={className}>
                  {c.cell(row)}
                </th>
              ) : (
                <td key={c.key} className={className}>
                  {c.cell(row)}
                </td>
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
  if (variant === 'plain') return table;
  return scrollLabel ? (
    <div
      className="overflow-x-auto rounded-lg border border-slate-200 bg-white"
      role="region"
      aria-label={scrollLabel}
      // eslint-disable-next-line jsx-a11y/no-noninteractive-tabindex -- a scroll region
      tabIndex={0}
    >
      {table}
    </div>
  ) : (
    <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white">{table}</div>
  );
}
