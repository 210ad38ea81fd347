import type { ReactNode } from 'react';

import type { Place, Service } from '@/types/campaign';

type Key = number | string;
type Ids = number[] | null | undefined;

/** The keys with `key` ticked or not; none left is no filter (null), not "none of them". */
function toggled<K extends Key>(keys: K[] | null | undefined, key: K, on: boolean): K[] | null {
  const rest = (keys ?? []).filter((x) => x !== key);
  const next = on ? [...rest, key] : rest;
  return next.length ? next : null;
}

function Choices<K extends Key>({
  options,
  value,
  onChange,
}: {
  options: { id: K; name: string }[];
  value: K[] | null | undefined;
  onChange: (keys: K[] | null) => void;
}) {
  return (
    <ul className="space-y-1">
      {options.map((o) => (
        <li key={o.id}>
          <label className="flex items-center gap-2">
            <input
              type="checkbox"
              className="h-4 w-4 accent-teal-700"
              checked={value?.includes(o.id) ?? false}
              onChange={(e) => onChange(toggled(value, o.id, e.target.checked))}
            />
            {o.name}
          </label>
        </li>
      ))}
    </ul>
  );
}

interface PickerProps<T> {
  /** Undefined while loading. */
  options: T[] | undefined;
  /** The options could not be loaded. */
  failed?: boolean;
  value: Ids;
  onChange: (ids: number[] | null) => void;
}

function PickerShell({
  legend,
  loaded,
  failed = false,
  empty,
  children,
}: {
  legend: string;
  loaded: boolean;
  failed?: boolean;
  empty: boolean;
  children: ReactNode;
}) {
  return (
    <fieldset className="text-sm text-slate-800 sm:col-span-2">
      <legend>
        {legend} <span className="text-slate-600">(any of them)</span>
      </legend>
      {/* A long menu scrolls inside its box instead of pushing the list of customers down. */}
      <div className="mt-1 max-h-48 overflow-y-auto rounded-md border border-slate-200 bg-white p-2">
        {failed ? (
          <p role="alert" className="text-red-700">
            These could not be loaded. Reload the page to try again.
          </p>
        ) : !loaded ? (
          <p className="text-slate-600">Loading…</p>
        ) : empty ? (
          <p className="text-slate-600">None yet.</p>
        ) : (
          children
        )}
      </div>
    </fieldset>
  );
}

/** Services ever booked, by category (the API lists them by category, then name). */
export function ServicePicker({ options, failed, value, onChange }: PickerProps<Service>) {
  const byCategory = new Map<string, Service[]>();
  for (const s of options ?? [])
    byCategory.set(s.category, [...(byCategory.get(s.category) ?? []), s]);
  return (
    <PickerShell
      legend="Services booked"
      loaded={options !== undefined}
      failed={failed}
      empty={byCategory.size === 0}
    >
      <div className="grid gap-3 sm:grid-cols-2">
        {[...byCategory].map(([category, list]) => (
          <fieldset key={category}>
            <legend className="text-xs font-semibold tracking-wide text-slate-600 uppercase">
              {category}
            </legend>
            <Choices options={list} value={value} onChange={onChange} />
          </fieldset>
        ))}
      </div>
    </PickerShell>
  );
}

/** Places visited: any of the owner's, whichever places the campaign reaches. */
export function PlacePicker({ options, failed, value, onChange }: PickerProps<Place>) {
  return (
    <PickerShell
      legend="Visited at"
      loaded={options !== undefined}
      failed={failed}
      empty={options?.length === 0}
    >
      <Choices options={options ?? []} value={value} onChange={onChange} />
    </PickerShell>
  );
}

/** Categories ever booked (any service of theirs), from the owner's services. */
export function CategoryPicker({
  categories,
  failed,
  value,
  onChange,
}: {
  /** Undefined while loading. */
  categories: string[] | undefined;
  /** The owner's services could not be loaded. */
  failed?: boolean;
  value: string[] | null | undefined;
  onChange: (categories: string[] | null) => void;
}) {
  return (
    <PickerShell
      legend="Categories booked"
      loaded={categories !== undefined}
      failed={failed}
      empty={categories?.length === 0}
    >
      <Choices
        options={(categories ?? []).map((c) => ({ id: c, name: c }))}
        value={value}
        onChange={onChange}
      />
    </PickerShell>
  );
}
