import type { Place } from '@/types/campaign';

import type { StepProps } from './step-props';
import { StepHeading } from './stepper';

/** Step 2: the places whose customers the campaign reaches. */
export function PlacesStep({
  state,
  update,
  places,
}: Omit<StepProps, 'errors'> & { places: Place[] }) {
  return (
    <>
      <StepHeading step={2}>The campaign reaches customers who booked at these places.</StepHeading>
      <fieldset className="space-y-2">
        <legend className="sr-only">Places</legend>
        <label className="flex items-center gap-3 text-sm font-medium">
          <input
            type="checkbox"
            className="h-4 w-4 accent-teal-700"
            // Some places ticked, not all: neither checked nor unchecked.
            ref={(box) => {
              if (box)
                box.indeterminate =
                  state.placeIds.length > 0 && state.placeIds.length < places.length;
            }}
            checked={state.placeIds.length === places.length}
            onChange={(e) => update({ placeIds: e.target.checked ? places.map((p) => p.id) : [] })}
          />
          All places ({places.length})
        </label>
        <ul className="grid gap-2 sm:grid-cols-2">
          {places.map((place) => (
            <li key={place.id}>
              <label className="flex items-start gap-3 rounded-lg border border-slate-200 bg-white p-3 text-sm hover:border-teal-400">
                <input
                  type="checkbox"
                  className="mt-0.5 h-4 w-4 accent-teal-700"
                  checked={state.placeIds.includes(place.id)}
                  onChange={(e) =>
                    update({
                      placeIds: e.target.checked
                        ? [...state.placeIds, place.id]
                        : state.placeIds.filter((id) => id !== place.id),
                    })
                  }
                />
                <span>
                  <span className="font-medium text-slate-900">{place.name}</span>
                  <span className="block text-slate-600">
                    {place.country_code} · {place.timezone}
                  </span>
                </span>
              </label>
            </li>
          ))}
        </ul>
      </fieldset>
    </>
  );
}
