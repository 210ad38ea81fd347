import { useId, useState } from 'react';

import { errorMessage } from '@/api/client';
import { Button } from '@/components/ui/button';
import { inputClass, selectClass } from '@/components/ui/field';
import { usePlaces } from '@/features/campaigns/api/get-places';
import { formatNumber } from '@/lib/format';
import type { Audience, AudienceFilters } from '@/types/campaign';

import { useAudiences, useSaveAudience, useServices } from '../api/get-audiences';
import { DEFAULT_OVERDUE_FACTOR, isEmptyAudience, sameAudience } from '../lib/audience';
import { CategoryPicker, PlacePicker, ServicePicker } from './audience-pickers';

export interface AudienceFilterPanelProps {
  placeIds: number[];
  filters: AudienceFilters;
  savedId: number | null;
  onChange: (filters: AudienceFilters, savedId?: number | null) => void;
}

const numberOrNull = (raw: string): number | null => (raw.trim() === '' ? null : Number(raw));

function triState(value: boolean | null | undefined): string {
  return value == null ? '' : String(value);
}

/**
 * Who to message from their booking history: one-click presets and saved audiences (with how
 * many customers each selects now), and the filters themselves. The server applies them:
 * consent and unsubscribes still decide first.
 */
export function AudienceFilterPanel({
  placeIds,
  filters,
  savedId,
  onChange,
}: AudienceFilterPanelProps) {
  const id = useId();
  const audiences = useAudiences(placeIds);
  const services = useServices();
  const places = usePlaces();
  const save = useSaveAudience();
  const [name, setName] = useState('');
  const categories = [...new Set((services.data ?? []).map((s) => s.category))].sort();
  const set = (patch: Partial<AudienceFilters>) => onChange({ ...filters, ...patch });

  const choices: Audience[] = [
    ...(audiences.data?.presets ?? []),
    ...(audiences.data?.saved ?? []),
  ];
  const isChosen = (a: Audience) =>
    a.id === null ? savedId === null && sameAudience(a.filters, filters) : a.id === savedId;

  return (
    <section aria-label="Audience" className="space-y-3 rounded-lg border border-slate-200 p-3">
      <div className="flex flex-wrap items-center gap-2" role="group" aria-label="Audiences">
        {choices.map((a) => (
          <Button
            key={a.key}
            variant={isChosen(a) ? 'primary' : 'secondary'}
            size="sm"
            aria-pressed={isChosen(a)}
            title={a.description}
            onClick={() => onChange(a.filters, a.id)}
          >
            {a.name} <span className="font-normal">({formatNumber(a.count)})</span>
          </Button>
        ))}
        {!isEmptyAudience(filters) && (
          <Button variant="ghost" size="sm" onClick={() => onChange({}, null)}>
            Clear filters
          </Button>
        )}
      </div>

      <details>
        <summary className="cursor-pointer text-sm font-medium text-slate-800">
          Filter by booking history
        </summary>
        <div className="mt-3 grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
          <label className="text-sm text-slate-800">
            Not visited in (days)
            <input
              type="number"
              min={1}
              className={inputClass}
              value={filters.no_visit_within_days ?? ''}
              onChange={(e) => set({ no_visit_within_days: numberOrNull(e.target.value) })}
            />
          </label>
          <label className="text-sm text-slate-800">
            Visited in the last (days)
            <input
              type="number"
              min={1}
              className={inputClass}
              value={filters.last_visit_within_days ?? ''}
              onChange={(e) => set({ last_visit_within_days: numberOrNull(e.target.value) })}
            />
          </label>
          <label className="text-sm text-slate-800">
            Visits at least
            <input
              type="number"
              min={0}
              className={inputClass}
              value={filters.min_visits ?? ''}
              onChange={(e) => set({ min_visits: numberOrNull(e.target.value) })}
            />
          </label>
          <label className="text-sm text-slate-800">
            Visits at most
            <input
              type="number"
              min={0}
              className={inputClass}
              value={filters.max_visits ?? ''}
              onChange={(e) => set({ max_visits: numberOrNull(e.target.value) })}
            />
          </label>
          <div className="text-sm text-slate-800">
            <label htmlFor={`${id}-upcoming`}>Upcoming booking</label>
            <select
              id={`${id}-upcoming`}
              className={`${selectClass} w-full`}
              value={triState(filters.has_upcoming)}
              onChange={(e) =>
                set({ has_upcoming: e.target.value === '' ? null : e.target.value === 'true' })
              }
            >
              <option value="">Any</option>
              <option value="true">Has one</option>
              <option value="false">Has none</option>
            </select>
          </div>
          <div className="text-sm text-slate-800">
            <label htmlFor={`${id}-noshows`}>Missed appointments</label>
            <select
              id={`${id}-noshows`}
              className={`${selectClass} w-full`}
              value={filters.no_shows ?? ''}
              onChange={(e) =>
                set({ no_shows: e.target.value === '' ? null : (e.target.value as 'exclude') })
              }
            >
              <option value="">Any</option>
              <option value="exclude">Never missed a booking</option>
              <option value="only">Missed a booking</option>
            </select>
          </div>
          <label className="text-sm text-slate-800">
            Spent at least
            <input
              type="number"
              min={0}
              step="0.01"
              className={inputClass}
              value={filters.min_spend == null ? '' : filters.min_spend / 100}
              onChange={(e) => {
                const amount = numberOrNull(e.target.value);
                set({ min_spend: amount === null ? null : Math.round(amount * 100) });
              }}
            />
          </label>
          <CategoryPicker
            categories={services.data && categories}
            failed={services.isError}
            value={filters.categories}
            onChange={(chosen) => set({ categories: chosen })}
          />
          <ServicePicker
            options={services.data}
            failed={services.isError}
            value={filters.service_ids}
            onChange={(ids) => set({ service_ids: ids })}
          />
          <PlacePicker
            options={places.data}
            failed={places.isError}
            value={filters.visited_place_ids}
            onChange={(ids) => set({ visited_place_ids: ids })}
          />
          <label className="flex items-center gap-2 text-sm text-slate-800">
            <input
              type="checkbox"
              className="h-4 w-4 accent-teal-700"
              checked={filters.first_time === true}
              onChange={(e) => set({ first_time: e.target.checked ? true : null })}
            />
            First-time customers (one visit)
          </label>
          <label className="flex items-center gap-2 text-sm text-slate-800">
            <input
              type="checkbox"
              className="h-4 w-4 accent-teal-700"
              checked={filters.overdue === true}
              onChange={(e) => set({ overdue: e.target.checked ? true : null })}
            />
            Overdue for their usual rhythm
          </label>
          {filters.overdue && (
            <label className="text-sm text-slate-800">
              Overdue after (× their usual interval)
              <input
                type="number"
                min={1}
                max={10}
                step="0.1"
                className={inputClass}
                value={filters.overdue_factor ?? DEFAULT_OVERDUE_FACTOR}
                onChange={(e) =>
                  set({ overdue_factor: numberOrNull(e.target.value) ?? DEFAULT_OVERDUE_FACTOR })
                }
              />
            </label>
          )}
        </div>
        <form
          className="mt-3 flex flex-wrap items-end gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            save.mutate(
              { name: name.trim(), filters },
              {
                onSuccess: (saved) => {
                  setName('');
                  onChange(saved.filters, saved.id);
                },
              },
            );
          }}
        >
          <label htmlFor={`${id}-name`} className="text-sm text-slate-800">
            Save these filters as
            <input
              id={`${id}-name`}
              className={inputClass}
              value={name}
              maxLength={100}
              placeholder="Audience name"
              onChange={(e) => setName(e.target.value)}
            />
          </label>
          <Button
            type="submit"
            variant="secondary"
            size="sm"
            disabled={!name.trim() || isEmptyAudience(filters) || save.isPending}
          >
            Save audience
          </Button>
          {save.isError && (
            <span className="text-sm text-red-700" role="alert">
              {errorMessage(save.error)}
            </span>
          )}
        </form>
      </details>
    </section>
  );
}
