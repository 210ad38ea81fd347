import { useQuery } from '@tanstack/react-query';
import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from 'react';

import { ApiError, errorMessage } from '@/api/client';
import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { InputField, TextareaField } from '@/components/ui/field';
import { ChatIcon, EnvelopeIcon } from '@/components/ui/icons';
import { Modal } from '@/components/ui/modal';
import { LoadingBlock } from '@/components/ui/spinner';
import { useToast } from '@/components/ui/toast';
import { formatDateTime, formatMoney, formatNumber, plural } from '@/lib/format';
import { zonedLocalToIso } from '@/lib/timezone';
import { useCreateCampaign } from '@/features/campaigns/api/create-campaign';
import { useCampaign } from '@/features/campaigns/api/get-campaign';
import { usePlaces } from '@/features/campaigns/api/get-places';
import { useUpdateCampaign } from '@/features/campaigns/api/update-campaign';
import type { Campaign, CampaignUpdate, Channel, Place } from '@/types/campaign';

import {
  useAddCampaignRecipients,
  useClearCampaignRecipients,
} from '../api/add-campaign-recipients';
import { useCampaignRecipients } from '../api/get-campaign-recipients';
import { messagingCustomersQueryOptions } from '../api/get-messaging-customers';
import { useSendSummary } from '../api/get-send-summary';
import { useSendCampaign } from '../api/send-campaign';
import { emptySelection, selectedCount, toRequests, type Selection } from '../lib/selection';
import {
  autosaveKey,
  configFromState,
  defaultTimeZone,
  fieldLabel,
  initialState,
  shortReason,
  savableState,
  unsavableFields,
  stepOfField,
  STEPS,
  validateStep,
  wizardFieldFor,
  type StepId,
  type WizardErrors,
  type WizardState,
} from '../lib/wizard';
import { clearDraft, loadDraft, saveDraft } from '../lib/wizard-draft';
import { CustomerSelector } from './customer-selector';
import { MessageContentStep } from './message-content-step';
import { SchedulingStep } from './scheduling-step';

type SaveStatus =
  | { kind: 'idle' }
  | { kind: 'saving' }
  | { kind: 'saved'; at: Date }
  | { kind: 'failed'; message: string };

const timeOfDay = (at: Date) =>
  new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit' }).format(at);

/** "Saved 14:32", "Not saved: WhatsApp message — …", in that order of urgency. */
function saveStatusText({
  status,
  unsavable,
  dirty,
  created,
}: {
  status: SaveStatus;
  unsavable: WizardErrors;
  dirty: boolean;
  created: boolean;
}): { text: string; tone: 'ok' | 'warn' } {
  const [field, problem] = Object.entries(unsavable).find(([, m]) => m) ?? [];
  if (!created) return { text: dirty ? 'Not saved yet: Next creates the draft.' : '', tone: 'ok' };
  if (status.kind === 'saving') return { text: 'Saving…', tone: 'ok' };
  if (field && problem)
    return { text: `Not saved: ${fieldLabel(field)} ${shortReason(problem)}`, tone: 'warn' };
  if (status.kind === 'failed') return { text: `Not saved: ${status.message}`, tone: 'warn' };
  if (status.kind === 'saved')
    return {
      text: `Saved ${timeOfDay(status.at)}${dirty ? ' · saving your latest edits…' : ''}`,
      tone: 'ok',
    };
  return { text: dirty ? 'Unsaved edits, saving…' : 'All changes saved', tone: 'ok' };
}

export const EDITABLE_STATUSES = new Set(['draft', 'cancelled']);

/** How many customers a selection holds (asks the server for "all matching" totals). */
export function useSelectionCount(placeIds: number[], selection: Selection): number | undefined {
  const criteria = selection.mode === 'all' ? selection.criteria : null;
  const total = useQuery({
    ...messagingCustomersQueryOptions({
      placeIds,
      filterBy: criteria?.filterBy ?? 'all',
      search: criteria?.search ?? '',
      audience: criteria?.audience,
      page: 1,
      limit: 1,
    }),
    enabled: criteria !== null && placeIds.length > 0,
    select: (page) => page.pagination.total_count,
  });
  if (selection.mode === 'all' && total.data === undefined) return undefined;
  return selectedCount(selection, total.data);
}

export interface MessagingCampaignFormProps {
  campaignId: number | null;
  step: StepId;
  onStepChange: (step: StepId) => void;
  onCreated: (campaign: Campaign) => void;
  onSent: (campaign: Campaign) => void;
  onExit: () => void;
}

/** The six-step messaging campaign wizard; every step is saved on the server as a draft. */
export function MessagingCampaignForm(props: MessagingCampaignFormProps) {
  const places = usePlaces();
  const campaign = useCampaign(props.campaignId);
  if (props.campaignId !== null && !(props.campaignId > 0)) {
    return <Alert tone="error">There is no such campaign.</Alert>;
  }
  if (places.isError || campaign.isError) {
    return (
      <Alert tone="error" title="The campaign could not be loaded">
        {errorMessage(places.error ?? campaign.error)}
      </Alert>
    );
  }
  if (places.isPending || (props.campaignId !== null && campaign.isPending)) {
    return <LoadingBlock label="Loading the campaign…" />;
  }
  if (places.data.length === 0) {
    return (
      <Alert tone="warning" title="No places yet">
        A messaging campaign reaches the customers of your places; this account has none.
      </Alert>
    );
  }
  const data = props.campaignId !== null ? campaign.data : undefined;
  if (data && data.campaign_type !== 'messaging') {
    return <Alert tone="error">This is not a messaging campaign.</Alert>;
  }
  if (data && !EDITABLE_STATUSES.has(data.status)) {
    return (
      <Alert tone="info" title={`This campaign is ${data.status.replace('_', ' ')}`}>
        {data.status === 'scheduled'
          ? 'Cancel the schedule on the campaign page to change it.'
          : 'It has been sent and can no longer be edited.'}
      </Alert>
    );
  }
  return <WizardBody key={data?.id ?? 'new'} {...props} campaign={data} places={places.data} />;
}

interface BodyProps extends MessagingCampaignFormProps {
  campaign: Campaign | undefined;
  places: Place[];
}

function Stepper({
  step,
  canJump,
  onJump,
}: {
  step: StepId;
  canJump: (id: StepId) => boolean;
  onJump: (id: StepId) => void;
}) {
  return (
    <nav aria-label="Wizard steps">
      <ol className="grid grid-cols-3 gap-2 sm:grid-cols-6">
        {STEPS.map((s) => {
          const current = s.id === step;
          const done = s.id < step;
          return (
            <li key={s.id}>
              <button
                type="button"
                disabled={!canJump(s.id) || current}
                aria-current={current ? 'step' : undefined}
                onClick={() => onJump(s.id)}
                className={`flex w-full flex-col items-start rounded-md border px-2 py-1.5 text-left text-xs transition-colors disabled:cursor-default ${
                  current
                    ? 'border-teal-700 bg-teal-700 text-white'
                    : done
                      ? 'border-teal-300 bg-teal-50 text-teal-900 hover:bg-teal-100'
                      : 'border-slate-200 bg-white text-slate-700 hover:bg-slate-50'
                }`}
              >
                <span className="font-semibold">Step {s.id}</span>
                <span>{s.title}</span>
              </button>
            </li>
          );
        })}
      </ol>
    </nav>
  );
}

function StepHeading({ step, children }: { step: StepId; children?: ReactNode }) {
  const title = STEPS.find((s) => s.id === step)!.title;
  return (
    <div className="mb-4">
      <h2 className="text-lg font-semibold text-slate-900" tabIndex={-1} data-step-heading>
        Step {step} of 6: {title}
      </h2>
      {children && <p className="text-sm text-slate-600">{children}</p>}
    </div>
  );
}

function WizardBody({
  campaign,
  places,
  step,
  onStepChange,
  onCreated,
  onSent,
  onExit,
}: BodyProps) {
  const ids = useId();
  const toast = useToast();
  const campaignKey = campaign?.id ?? null;
  const [base] = useState<WizardState>(() => {
    const chosen = places.filter((p) => campaign?.place_ids.includes(p.id));
    const zones = (chosen.length ? chosen : places).map((p) => p.timezone);
    return initialState(campaign, defaultTimeZone([...new Set(zones)]));
  });
  // Edits left unsaved by a reload or an expired login come back.
  const [restored] = useState(() => loadDraft(campaignKey, base));
  const [state, setState] = useState<WizardState>(() => restored ?? base);
  const [errors, setErrors] = useState<WizardErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  // Fields the server refused as typed; autosave leaves them out until they change.
  const [refused, setRefused] = useState<WizardErrors>({});
  const update = useCallback((patch: Partial<WizardState>) => {
    setState((s) => ({ ...s, ...patch }));
    const clear = (e: WizardErrors) => {
      const next = { ...e };
      for (const key of Object.keys(patch)) {
        delete next[key];
        if (key === 'whatsappVariables' || key === 'whatsappSid' || key === 'whatsappMode')
          for (const k of Object.keys(next)) if (k.startsWith('whatsappVariables')) delete next[k];
        if (key === 'timeZone' || key === 'scheduleMode') delete next.scheduledLocal;
      }
      return next;
    };
    setErrors(clear);
    setRefused(clear);
  }, []);

  const create = useCreateCampaign();
  const patch = useUpdateCampaign();
  const addRecipients = useAddCampaignRecipients();
  const clearRecipients = useClearCampaignRecipients();
  const send = useSendCampaign();
  const campaignId = campaign?.id ?? 0;
  const saved = useCampaignRecipients(campaignId, { page: 1, limit: 1 });
  const savedRecipients = saved.data?.pagination.total_count ?? 0;
  const selected = useSelectionCount(state.placeIds, state.selection);

  // Move focus to the step's heading when the step changes (keyboard and screen readers).
  // On the first render only when focus was lost (the page before was replaced, as after
  // Enter on step 1 creates the draft), so a click elsewhere is never stolen.
  const firstRender = useRef(true);
  useEffect(() => {
    const lost = document.activeElement === null || document.activeElement === document.body;
    if (firstRender.current) {
      firstRender.current = false;
      if (!lost) return;
    }
    document.querySelector<HTMLElement>('[data-step-heading]')?.focus();
  }, [step]);

  const fieldErrorsOf = (error: unknown): WizardErrors => {
    const fieldErrors: WizardErrors = {};
    if (error instanceof ApiError)
      for (const e of error.fieldErrors) {
        const field = wizardFieldFor(e.field);
        if (field) fieldErrors[field] ??= e.message.charAt(0).toUpperCase() + e.message.slice(1);
      }
    return fieldErrors;
  };

  const applyApiError = (error: unknown): StepId | null => {
    const fieldErrors = fieldErrorsOf(error);
    if (Object.keys(fieldErrors).length) {
      setErrors(fieldErrors);
      return stepOfField(Object.keys(fieldErrors)[0]!);
    }
    setFormError(errorMessage(error));
    return null;
  };

  // Autosave: every field that can be saved is saved as it changes (800 ms after the last
  // key); one that cannot (too long, an unknown variable) stays at its saved value and says
  // so, without holding back the others. Saves run one after the other.
  const [savedState, setSavedState] = useState<WizardState>(base);
  const queue = useRef<Promise<unknown>>(Promise.resolve());
  const [saveStatus, setSaveStatus] = useState<SaveStatus>({ kind: 'idle' });
  const unsavable = { ...unsavableFields(state), ...refused };
  const savable = savableState(state, savedState, Object.keys(unsavable));
  const savableKey = autosaveKey(savable);
  const placesDirty =
    campaign !== undefined &&
    [...state.placeIds].sort().join() !== [...campaign.place_ids].sort().join();
  const dirty =
    campaign === undefined
      ? Boolean(state.name.trim() || state.description.trim())
      : autosaveKey(state) !== autosaveKey(savedState) || placesDirty || state.selectionTouched;

  const persist = (data: CampaignUpdate, savedAs: WizardState): Promise<void> => {
    const run = async () => {
      if (!campaign) return;
      setSaveStatus({ kind: 'saving' });
      try {
        await patch.mutateAsync({ id: campaign.id, data });
        setSavedState(savedAs);
        setSaveStatus({ kind: 'saved', at: new Date() });
      } catch (error) {
        setSaveStatus({ kind: 'failed', message: errorMessage(error) });
        throw error;
      }
    };
    const next = queue.current.catch(() => undefined).then(run);
    queue.current = next;
    return next;
  };

  const autosave = (s: WizardState) =>
    persist(
      {
        name: s.name.trim(),
        description: s.description.trim() || null,
        messaging_config: configFromState(s),
      },
      s,
    ).catch((error: unknown) => {
      const fieldErrors = fieldErrorsOf(error);
      if (Object.keys(fieldErrors).length) {
        // Retried (by the effect below) without the fields the server refused.
        setRefused((r) => ({ ...r, ...fieldErrors }));
        setErrors((e) => ({ ...e, ...fieldErrors }));
        setSaveStatus({ kind: 'idle' });
      }
    });

  const savedKey = autosaveKey(savedState);
  useEffect(() => {
    if (!campaign || savableKey === savedKey) return;
    const timer = window.setTimeout(() => void autosave(savable), 800);
    return () => window.clearTimeout(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the keys say it all
  }, [savableKey, savedKey, campaign?.id]);

  // Unsaved edits stay in this tab until the server has them, and leaving warns.
  useEffect(() => {
    if (dirty) saveDraft(campaignKey, state);
    else clearDraft(campaignKey);
  }, [dirty, state, campaignKey]);
  useEffect(() => {
    if (!dirty) return;
    const warn = (event: BeforeUnloadEvent) => {
      event.preventDefault();
      event.returnValue = '';
    };
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [dirty]);

  const summary = useSendSummary(step === 6 ? campaignId : 0, state.scheduleMode === 'now');
  // What step 6 cannot fix (no recipients, no subject…) keeps Review disabled.
  const blockers = (summary.data?.checks ?? []).filter((c) => !c.ok && c.key !== 'schedule');

  const statusText = saveStatusText({
    status: saveStatus,
    unsavable,
    dirty,
    created: campaign !== undefined,
  });

  const saveStep = async (current: StepId): Promise<void> => {
    if (current === 1) {
      if (!campaign) {
        // The draft is created now so that a reload loses nothing; every place is chosen until
        // the owner narrows it down in step 2.
        const placeIds = state.placeIds.length ? state.placeIds : places.map((p) => p.id);
        const created = await create.mutateAsync({
          name: state.name.trim(),
          description: state.description.trim() || null,
          campaign_type: 'messaging',
          place_ids: placeIds,
          messaging_config: { channels: state.channels, send_immediately: false },
        });
        clearDraft(null);
        onCreated(created);
        return;
      }
      await persist(
        { name: state.name.trim(), description: state.description.trim() || null },
        { ...savedState, name: state.name, description: state.description },
      );
      return;
    }
    if (!campaign) return;
    if (current === 2) {
      const changed = [...state.placeIds].sort().join() !== [...campaign.place_ids].sort().join();
      if (!changed) return;
      await persist({ place_ids: state.placeIds }, { ...savedState, placeIds: state.placeIds });
      if (savedRecipients > 0) {
        await clearRecipients.mutateAsync(campaign.id);
        toast.notify('The places changed, so the customer selection was cleared.', 'info');
      }
      setState((s) => ({ ...s, selection: emptySelection(), selectionTouched: false }));
      return;
    }
    if (current === 3 || current === 5 || current === 6) {
      await persist({ messaging_config: configFromState(state) }, state);
      return;
    }
    if (current === 4 && state.selectionTouched) {
      const result = await addRecipients.mutateAsync({
        campaignId: campaign.id,
        selections: toRequests(state.selection),
      });
      setState((s) => ({ ...s, selectionTouched: false }));
      toast.notify(`${plural(result.total_recipients, 'customer')} will receive this campaign.`);
    }
  };

  const goTo = async (target: StepId | 7) => {
    setFormError(null);
    if (target < step) {
      setErrors({});
      onStepChange(target as StepId);
      return;
    }
    const stepErrors = validateStep(step, state, {
      savedRecipients,
      selectedCount: selected ?? 0,
    });
    setErrors(stepErrors);
    if (Object.keys(stepErrors).length) {
      requestAnimationFrame(() =>
        document.querySelector<HTMLElement>('[aria-invalid="true"], [data-step-error]')?.focus(),
      );
      return;
    }
    setBusy(true);
    try {
      await saveStep(step);
      if (target === 7) setConfirming(true);
      else if (step !== 1 || campaign) onStepChange(target as StepId);
    } catch (error) {
      const errorStep = applyApiError(error);
      if (errorStep && errorStep !== step) onStepChange(errorStep);
    } finally {
      setBusy(false);
    }
  };

  const saveAndExit = async () => {
    setFormError(null);
    if (!campaign) {
      clearDraft(null); // "Cancel": what was typed is dropped
      onExit();
      return;
    }
    setBusy(true);
    try {
      if (
        Object.keys(validateStep(step, state, { savedRecipients, selectedCount: selected ?? 0 }))
          .length === 0
      ) {
        await saveStep(step);
        if ((!placesDirty || step === 2) && (!state.selectionTouched || step === 4))
          clearDraft(campaignKey);
      }
      onExit();
    } catch (error) {
      applyApiError(error);
    } finally {
      setBusy(false);
    }
  };

  const confirmSend = () => {
    if (!campaign) return;
    send.mutate(
      { campaignId: campaign.id, sendImmediately: state.scheduleMode === 'now' },
      {
        onSuccess: (result) => {
          setConfirming(false);
          clearDraft(campaignKey);
          toast.notify(
            result.status === 'scheduled'
              ? `“${result.name}” is scheduled.`
              : `“${result.name}” is sending.`,
          );
          onSent(result);
        },
      },
    );
  };

  const stepError = errors.placeIds ?? errors.channels ?? errors.customers;
  const scheduledIso =
    state.scheduleMode === 'later' && state.scheduledLocal
      ? zonedLocalToIso(state.scheduledLocal, state.timeZone)
      : null;

  let body: ReactNode;
  switch (step) {
    case 1:
      body = (
        <>
          <StepHeading step={1}>Name the campaign so you can find it later.</StepHeading>
          <div className="max-w-xl space-y-4">
            <InputField
              label="Campaign name"
              value={state.name}
              onChange={(e) => update({ name: e.target.value })}
              error={errors.name}
              placeholder="Spring comeback offer"
              maxLength={200}
            />
            <TextareaField
              label="Description (optional)"
              rows={3}
              value={state.description}
              onChange={(e) => update({ description: e.target.value })}
              error={errors.description}
              hint="Only you see it."
            />
          </div>
        </>
      );
      break;
    case 2:
      body = (
        <>
          <StepHeading step={2}>
            The campaign reaches customers who booked at these places.
          </StepHeading>
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
                onChange={(e) =>
                  update({ placeIds: e.target.checked ? places.map((p) => p.id) : [] })
                }
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
      break;
    case 3:
      body = (
        <>
          <StepHeading step={3}>How should the message reach your customers?</StepHeading>
          <fieldset>
            <legend className="sr-only">Channels</legend>
            <div className="grid gap-3 sm:grid-cols-2">
              {(
                [
                  ['email', 'Email', 'A rich message with your own subject.', EnvelopeIcon],
                  ['whatsapp', 'WhatsApp', 'A short text or an approved template.', ChatIcon],
                ] as const
              ).map(([channel, label, text, Icon]) => (
                <label
                  key={channel}
                  className={`flex cursor-pointer items-start gap-3 rounded-lg border p-4 text-sm ${state.channels.includes(channel) ? 'border-teal-600 bg-teal-50' : 'border-slate-200 bg-white'}`}
                >
                  <input
                    type="checkbox"
                    className="mt-0.5 h-4 w-4 accent-teal-700"
                    checked={state.channels.includes(channel)}
                    onChange={(e) =>
                      update({
                        channels: (e.target.checked
                          ? [...state.channels, channel]
                          : state.channels.filter((c) => c !== channel)
                        ).sort() as Channel[],
                      })
                    }
                  />
                  <Icon className="h-6 w-6 shrink-0 text-teal-700" />
                  <span>
                    <span className="font-medium text-slate-900">{label}</span>
                    <span className="block text-slate-600">{text}</span>
                  </span>
                </label>
              ))}
            </div>
          </fieldset>
        </>
      );
      break;
    case 4:
      body = (
        <>
          <StepHeading step={4}>
            Only customers who agreed to marketing messages are listed.
          </StepHeading>
          {savedRecipients > 0 && !state.selectionTouched && (
            <Alert tone="info" className="mb-4">
              {plural(savedRecipients, 'customer is', 'customers are')} already selected for this
              campaign. Change the selection below to replace them, or continue.
            </Alert>
          )}
          <CustomerSelector
            placeIds={state.placeIds}
            value={state.selection}
            onChange={(selection) => update({ selection, selectionTouched: true })}
          />
        </>
      );
      break;
    case 5:
      body = campaign ? (
        <>
          <StepHeading step={5}>
            Personalise with variables; the preview is rendered by Rebook for a real customer.
          </StepHeading>
          <MessageContentStep campaign={campaign} state={state} update={update} errors={errors} />
        </>
      ) : null;
      break;
    case 6:
      body = campaign ? (
        <>
          <StepHeading step={6}>Check the summary, then send or schedule.</StepHeading>
          <SchedulingStep
            campaign={campaign}
            places={places}
            state={state}
            update={update}
            errors={errors}
            onJump={(id) => void goTo(id)}
          />
        </>
      ) : null;
      break;
  }

  return (
    <div className="space-y-6">
      <Stepper
        step={step}
        canJump={(id) => id < step || (Boolean(campaign) && id <= 6)}
        onJump={(id) => void goTo(id)}
      />
      {restored && campaign && (
        <Alert tone="info">Your edits that were not saved before you left are back.</Alert>
      )}
      {formError && (
        <Alert tone="error" title="That did not work">
          {formError}
        </Alert>
      )}
      {stepError && (
        <p
          role="alert"
          tabIndex={-1}
          data-step-error
          className="rounded-md border border-red-300 bg-red-50 px-4 py-2 text-sm text-red-900"
        >
          {stepError}
        </p>
      )}
      <form
        // The wizard's own checks speak in full sentences; min/max only guide the pickers.
        noValidate
        aria-labelledby={`${ids}-title`}
        onSubmit={(e) => {
          e.preventDefault();
          void goTo((step + 1) as StepId);
        }}
        className="rounded-xl border border-slate-200 bg-white p-4 shadow-sm sm:p-6"
      >
        <span id={`${ids}-title`} className="sr-only">
          Messaging campaign
        </span>
        {body}
        <p
          role="status"
          data-testid="save-status"
          className={`mt-6 text-sm ${statusText.tone === 'warn' ? 'font-medium text-amber-900' : 'text-slate-600'}`}
        >
          {statusText.text}
        </p>
        <div className="mt-2 flex flex-wrap items-center justify-between gap-3 border-t border-slate-200 pt-4">
          <div className="flex gap-2">
            <Button
              variant="secondary"
              disabled={step === 1 || busy}
              onClick={() => void goTo((step - 1) as StepId)}
            >
              Back
            </Button>
            <Button variant="ghost" disabled={busy} onClick={() => void saveAndExit()}>
              {campaign ? 'Save draft and exit' : 'Cancel'}
            </Button>
          </div>
          {busy && step === 4 && state.selectionTouched && (
            <p role="status" className="text-sm text-slate-700">
              Saving the selection of {formatNumber(selected ?? 0)} customers…
            </p>
          )}
          <Button type="submit" loading={busy} disabled={step === 6 && blockers.length > 0}>
            {step === 6
              ? state.scheduleMode === 'now'
                ? 'Review and send'
                : 'Review and schedule'
              : 'Next'}
          </Button>
        </div>
      </form>

      <Modal
        open={confirming}
        onClose={() => setConfirming(false)}
        title={state.scheduleMode === 'now' ? 'Send this campaign now?' : 'Schedule this campaign?'}
        footer={
          <>
            <Button variant="secondary" onClick={() => setConfirming(false)}>
              Not yet
            </Button>
            <Button
              loading={send.isPending}
              // The server refuses a send that fails a check; this says so before it is tried.
              disabled={!summary.data?.can_send}
              onClick={confirmSend}
            >
              {state.scheduleMode === 'now' ? 'Send now' : 'Schedule'}
            </Button>
          </>
        }
      >
        <div className="space-y-3 text-sm">
          {send.error && <Alert tone="error">{errorMessage(send.error)}</Alert>}
          <p>
            <strong>{campaign?.name}</strong> goes to{' '}
            <strong>{plural(summary.data?.recipients ?? savedRecipients, 'customer')}</strong> by{' '}
            {state.channels.map((c) => (c === 'email' ? 'email' : 'WhatsApp')).join(' and ')}
            {scheduledIso
              ? ` on ${formatDateTime(scheduledIso, state.timeZone)} (${state.timeZone})`
              : ', starting now'}
            .
          </p>
          {summary.data && (
            <ul className="list-inside list-disc text-slate-700">
              {summary.data.channels.map((c) => (
                <li key={c.channel}>
                  {c.channel === 'email' ? 'Email' : 'WhatsApp'}: {formatNumber(c.deliverable)}{' '}
                  messages
                  {c.skipped_missing_contact
                    ? `, ${formatNumber(c.skipped_missing_contact)} skipped (no contact)`
                    : ''}
                  {c.whatsapp && (
                    <>
                      {' '}
                      ({formatNumber(c.whatsapp.free_text)} free text,{' '}
                      {formatNumber(c.whatsapp.template)} template
                      {c.whatsapp.skipped_outside_window
                        ? `, ${formatNumber(c.whatsapp.skipped_outside_window)} skipped: outside WhatsApp’s 24-hour window`
                        : ''}
                      )
                    </>
                  )}
                </li>
              ))}
              <li>
                Estimated cost: {formatMoney(summary.data.estimated_cost, summary.data.currency)}
              </li>
            </ul>
          )}
          <p className="text-slate-700">Messages that have left cannot be recalled.</p>
        </div>
      </Modal>
    </div>
  );
}
