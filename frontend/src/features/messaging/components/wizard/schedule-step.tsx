import { useId, type ReactNode } from 'react';

import { errorMessage } from '@/api/client';
import { Alert } from '@/components/ui/alert';
import { DataTable, type Column } from '@/components/ui/data-table';
import { FieldError, inputClass, selectClass } from '@/components/ui/field';
import { LoadingBlock } from '@/components/ui/spinner';
import { formatMoney, formatNumber, plural } from '@/lib/format';
import { isoToZonedLocal, offsetLabel, zonedLocalToIso } from '@/lib/timezone';
import type { Campaign, ChannelSummary, Place, SendSummary, WhatsAppSplit } from '@/types/campaign';

import { useSendSummary } from '../../api/get-send-summary';
import {
  MAX_SCHEDULE_YEAR,
  ownerTimeZone,
  type StepId,
  type WizardErrors,
  type WizardState,
} from '../../lib/wizard';

import { DeliverabilityNotice } from '../deliverability-notice';
import { TestSendPanel } from '../test-send-panel';
import { StepHeading } from './stepper';

interface Props {
  campaign: Campaign;
  places: Place[];
  state: WizardState;
  update: (patch: Partial<WizardState>) => void;
  errors: WizardErrors;
  onJump: (step: StepId) => void;
}

const channelNames = { email: 'Email', whatsapp: 'WhatsApp' } as const;

/** How WhatsApp's 24-hour rule splits the WhatsApp messages, as the windows stand now. */
export function WhatsAppSplitNote({ split }: { split: WhatsAppSplit }) {
  return (
    <div className="space-y-1 text-sm" data-testid="whatsapp-split">
      <p className="font-medium text-slate-900">WhatsApp</p>
      <ul className="list-inside list-disc text-slate-800">
        {split.free_text > 0 && (
          <li>
            {plural(split.free_text, 'customer')} get the free text (they wrote to you in the last
            24 hours)
          </li>
        )}
        {split.template > 0 && <li>{plural(split.template, 'customer')} get the template</li>}
        {split.skipped_outside_window > 0 && (
          <li className="font-medium text-amber-900">
            {plural(split.skipped_outside_window, 'customer')} skipped: outside WhatsApp’s 24-hour
            window — choose an approved template
          </li>
        )}
      </ul>
      <p className="text-xs text-slate-600">
        Counted now; each customer’s window is checked again as their message leaves.
      </p>
    </div>
  );
}

// Where each check of the send is fixed.
const CHECK_STEPS: Record<SendSummary['checks'][number]['key'], StepId> = {
  audience: 4,
  sender: 3,
  subject: 5,
  content: 5,
  schedule: 6,
};

const wallClock = (iso: string, timeZone: string) =>
  new Intl.DateTimeFormat('en-GB', {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    hour: '2-digit',
    minute: '2-digit',
    timeZone,
  }).format(new Date(iso));

/** Everything the send needs, each ✓ or ✗ with a link to the step that fixes it. */
export function SendChecklist({
  summary,
  onJump,
  current,
}: {
  summary: SendSummary;
  onJump: (step: StepId) => void;
  current: StepId;
}) {
  return (
    <ul className="space-y-1 text-sm" data-testid="send-checklist" aria-label="Before sending">
      {summary.checks.map((check) => {
        const target = CHECK_STEPS[check.key];
        return (
          <li key={check.key} data-ok={check.ok} className="flex flex-wrap items-baseline gap-x-2">
            <span aria-hidden="true" className={check.ok ? 'text-teal-700' : 'text-red-700'}>
              {check.ok ? '✓' : '✗'}
            </span>
            <span className="font-medium">
              {check.label}
              <span className="sr-only">{check.ok ? ' ready' : ' missing'}</span>:
            </span>
            <span className={`min-w-0 break-words ${check.ok ? 'text-slate-700' : 'text-red-800'}`}>
              {check.detail}
            </span>
            {!check.ok && target !== current && (
              <button
                type="button"
                className="text-teal-800 underline hover:text-teal-950"
                onClick={() => onJump(target)}
              >
                Fix in step {target}
              </button>
            )}
          </li>
        );
      })}
    </ul>
  );
}

const channelColumns = (currency: string): Column<ChannelSummary>[] => [
  { key: 'channel', header: 'Channel', rowHeader: true, cell: (c) => channelNames[c.channel] },
  { key: 'receive', header: 'Will receive', cell: (c) => formatNumber(c.deliverable) },
  {
    key: 'skipped',
    header: 'Skipped (no contact)',
    cell: (c) => formatNumber(c.skipped_missing_contact),
  },
  { key: 'cost', header: 'Cost', cell: (c) => formatMoney(c.estimated_cost, currency) },
];

/** Step 6: now or later (in a place's time zone), and what sending will do. */
export function ScheduleStep({ campaign, places, state, update, errors, onJump }: Props) {
  const ids = useId();
  const summary = useSendSummary(campaign.id, state.scheduleMode === 'now');
  const chosen = places.filter((p) => state.placeIds.includes(p.id));
  const own = ownerTimeZone();
  const zones = [...new Set([...chosen.map((p) => p.timezone), own, state.timeZone])];
  const zonePlaces = (zone: string) =>
    chosen
      .filter((p) => p.timezone === zone)
      .map((p) => p.name)
      .join(', ');
  const iso =
    state.scheduleMode === 'later' && state.scheduledLocal
      ? zonedLocalToIso(state.scheduledLocal, state.timeZone)
      : null;

  return (
    <>
      <StepHeading step={6}>Check the summary, then send or schedule.</StepHeading>
      <div className="grid gap-6 lg:grid-cols-2">
        {state.channels.includes('email') && <DeliverabilityNotice />}
        <fieldset className="space-y-4 rounded-lg border border-slate-200 bg-white p-4">
          <legend className="px-1 font-semibold text-slate-900">When to send</legend>
          <label className="flex items-start gap-3 text-sm">
            <input
              type="radio"
              name={`${ids}-when`}
              className="mt-1 accent-teal-700"
              checked={state.scheduleMode === 'now'}
              onChange={() => update({ scheduleMode: 'now' })}
            />
            <span>
              <span className="font-medium">Send immediately</span>
              <span className="block text-slate-600">
                Messages start leaving as soon as you confirm.
              </span>
            </span>
          </label>
          <label className="flex items-start gap-3 text-sm">
            <input
              type="radio"
              name={`${ids}-when`}
              className="mt-1 accent-teal-700"
              checked={state.scheduleMode === 'later'}
              onChange={() => update({ scheduleMode: 'later' })}
            />
            <span>
              <span className="font-medium">Schedule for later</span>
              <span className="block text-slate-600">
                Pick a date and time in a place’s time zone.
              </span>
            </span>
          </label>
          {state.scheduleMode === 'later' && (
            <div className="grid gap-3 pl-7 sm:grid-cols-2">
              <div>
                <label htmlFor={`${ids}-at`} className="mb-1 block text-sm font-medium">
                  Date and time
                </label>
                <input
                  id={`${ids}-at`}
                  type="datetime-local"
                  className={inputClass}
                  value={state.scheduledLocal}
                  onChange={(e) => update({ scheduledLocal: e.target.value })}
                  min={isoToZonedLocal(new Date().toISOString(), state.timeZone)}
                  max={`${MAX_SCHEDULE_YEAR}-12-31T23:59`}
                  aria-invalid={errors.scheduledLocal ? true : undefined}
                  aria-describedby={`${ids}-tz-hint${errors.scheduledLocal ? ` ${ids}-at-error` : ''}`}
                />
                <FieldError id={`${ids}-at-error`} message={errors.scheduledLocal} />
              </div>
              <div>
                <label htmlFor={`${ids}-tz`} className="mb-1 block text-sm font-medium">
                  Time zone
                </label>
                <select
                  id={`${ids}-tz`}
                  className={`${selectClass} w-full`}
                  value={state.timeZone}
                  onChange={(e) => update({ timeZone: e.target.value })}
                >
                  {zones.map((zone) => (
                    <option key={zone} value={zone}>
                      {zone} ({offsetLabel(zone)}){zone === own ? ', your time' : ''}
                    </option>
                  ))}
                </select>
              </div>
              <p id={`${ids}-tz-hint`} className="text-sm text-slate-700 sm:col-span-2">
                The time is read in <strong>{state.timeZone}</strong>
                {zonePlaces(state.timeZone) ? ` (the time of ${zonePlaces(state.timeZone)})` : ''}.
                {iso && (
                  <ElsewhereTimes
                    iso={iso}
                    zone={state.timeZone}
                    zones={zones}
                    own={own}
                    zonePlaces={zonePlaces}
                  />
                )}
              </p>
            </div>
          )}
        </fieldset>

        <section
          aria-labelledby={`${ids}-summary`}
          className="space-y-3 rounded-lg border border-teal-200 bg-teal-50/50 p-4"
        >
          <h3 id={`${ids}-summary`} className="font-semibold text-slate-900">
            Summary
          </h3>
          {summary.data && <SendChecklist summary={summary.data} onJump={onJump} current={6} />}
          {summary.isPending ? (
            <LoadingBlock label="Counting recipients…" />
          ) : summary.isError ? (
            <Alert tone="error">{errorMessage(summary.error)}</Alert>
          ) : (
            <>
              <dl className="grid grid-cols-2 gap-2 text-sm">
                <dt className="text-slate-700">Campaign</dt>
                <dd className="font-medium">{campaign.name}</dd>
                <dt className="text-slate-700">Places</dt>
                <dd className="font-medium">{chosen.map((p) => p.name).join(', ') || '—'}</dd>
                <dt className="text-slate-700">Recipients</dt>
                <dd className="font-medium" data-testid="summary-recipients">
                  {formatNumber(summary.data.recipients)}
                </dd>
                <dt className="text-slate-700">Estimated cost</dt>
                <dd className="font-medium">
                  {formatMoney(summary.data.estimated_cost, summary.data.currency)}
                </dd>
              </dl>
              <DataTable
                variant="plain"
                caption="Messages per channel"
                columns={channelColumns(summary.data.currency)}
                rows={summary.data.channels}
                rowKey={(c) => c.channel}
              />
              {summary.data.channels.map(
                (c) => c.whatsapp && <WhatsAppSplitNote key={c.channel} split={c.whatsapp} />,
              )}
              {summary.data.channels.some((c) => c.skipped_missing_contact > 0) && (
                <p className="text-xs text-slate-700">
                  Customers without an email address or phone number for a channel are skipped on
                  that channel.
                </p>
              )}
              {summary.data.recipients === 0 && (
                <Alert tone="warning">
                  No recipients yet: go back to step 4 and select customers.
                </Alert>
              )}
            </>
          )}
        </section>
        <TestSendPanel campaignId={campaign.id} channels={state.channels} />
      </div>
    </>
  );
}

/** "Sunday 7 December at 10:00 there; that is 11:00 in Europe/Paris (Studio Lumière)…" */
function ElsewhereTimes({
  iso,
  zone,
  zones,
  own,
  zonePlaces,
}: {
  iso: string;
  zone: string;
  zones: string[];
  own: string;
  zonePlaces: (zone: string) => string;
}): ReactNode {
  const others = zones.filter((z) => z !== zone);
  return (
    <>
      {' '}
      It goes on <strong data-testid="schedule-local">{wallClock(iso, zone)}</strong> there
      {others.length > 0 && (
        <>
          ; that is{' '}
          {others.map((z, i) => (
            <span key={z}>
              {i > 0 && ', '}
              {wallClock(iso, z)} in {z}
              {z === own ? ' (your time)' : zonePlaces(z) ? ` (${zonePlaces(z)})` : ''}
            </span>
          ))}
        </>
      )}
      .
    </>
  );
}
