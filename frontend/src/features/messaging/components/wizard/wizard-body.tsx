import { useEffect, useId, useRef, useState, type ReactNode } from 'react';

import { errorMessage } from '@/api/client';
import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { useToast } from '@/components/ui/toast';
import { formatNumber, plural } from '@/lib/format';
import { useCreateCampaign } from '@/features/campaigns/api/create-campaign';
import type { Campaign, Place } from '@/types/campaign';

import {
  useAddCampaignRecipients,
  useClearCampaignRecipients,
} from '../../api/add-campaign-recipients';
import { useCampaignRecipients } from '../../api/get-campaign-recipients';
import { useSendSummary } from '../../api/get-send-summary';
import { useSendCampaign } from '../../api/send-campaign';
import { emptySelection, toRequests } from '../../lib/selection';
import { configFromState, stepOfField, validateStep, type StepId } from '../../lib/wizard';
import { clearDraft } from '../../lib/wizard-draft';
import { BasicInfoStep } from './basic-info-step';
import { ChannelsStep } from './channels-step';
import { CustomersStep } from './customers-step';
import { MessageStep } from './message-step';
import { PlacesStep } from './places-step';
import { ScheduleStep } from './schedule-step';
import { SendConfirmDialog } from './send-confirm-dialog';
import { Stepper } from './stepper';
import { useSelectionCount } from './use-selection-count';
import { fieldErrorsOf, useWizardState } from './use-wizard-state';

export interface WizardBodyProps {
  campaign: Campaign | undefined;
  places: Place[];
  step: StepId;
  onStepChange: (step: StepId) => void;
  onCreated: (campaign: Campaign) => void;
  onSent: (campaign: Campaign) => void;
  onExit: () => void;
}

/** The wizard of one campaign (or of a new one): the current step, Next/Back, send. */
export function WizardBody({
  campaign,
  places,
  step,
  onStepChange,
  onCreated,
  onSent,
  onExit,
}: WizardBodyProps) {
  const ids = useId();
  const toast = useToast();
  const campaignKey = campaign?.id ?? null;
  const wizard = useWizardState(campaign, places);
  const { state, setState, update, errors, setErrors, savedState, persist } = wizard;
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);

  const create = useCreateCampaign();
  const addRecipients = useAddCampaignRecipients();
  const clearRecipients = useClearCampaignRecipients();
  const send = useSendCampaign();
  const campaignId = campaign?.id ?? 0;
  const saved = useCampaignRecipients(campaignId, { page: 1, limit: 1 });
  const savedRecipients = saved.data?.pagination.total_count ?? 0;
  const selected = useSelectionCount(state.placeIds, state.selection);
  const summary = useSendSummary(step === 6 ? campaignId : 0, state.scheduleMode === 'now');
  // What step 6 cannot fix (no recipients, no subject…) keeps Review disabled.
  const blockers = (summary.data?.checks ?? []).filter((c) => !c.ok && c.key !== 'schedule');

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

  /** Shows an error from the API; the step of the first field it names, if any. */
  const applyApiError = (error: unknown): StepId | null => {
    const fieldErrors = fieldErrorsOf(error);
    if (Object.keys(fieldErrors).length) {
      setErrors(fieldErrors);
      return stepOfField(Object.keys(fieldErrors)[0]!);
    }
    setFormError(errorMessage(error));
    return null;
  };

  const stepContext = { savedRecipients, selectedCount: selected ?? 0 };

  // What autosave does not keep is saved when the owner leaves its step.
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

  /** Back goes straight there; forward checks and saves the step first (7: confirm send). */
  const goTo = async (target: StepId | 7) => {
    if (busy) return;
    setFormError(null);
    if (target < step) {
      setErrors({});
      onStepChange(target as StepId);
      return;
    }
    const stepErrors = validateStep(step, state, stepContext);
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
      if (Object.keys(validateStep(step, state, stepContext)).length === 0) {
        await saveStep(step);
        if ((!wizard.placesDirty || step === 2) && (!state.selectionTouched || step === 4))
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
  const stepProps = { state, update, errors };
  let body: ReactNode = null;
  if (step === 1) body = <BasicInfoStep {...stepProps} />;
  else if (step === 2) body = <PlacesStep {...stepProps} places={places} />;
  else if (step === 3) body = <ChannelsStep {...stepProps} />;
  else if (step === 4) body = <CustomersStep {...stepProps} savedRecipients={savedRecipients} />;
  else if (step === 5 && campaign) body = <MessageStep {...stepProps} campaign={campaign} />;
  else if (step === 6 && campaign)
    body = (
      <ScheduleStep
        {...stepProps}
        campaign={campaign}
        places={places}
        onJump={(id) => void goTo(id)}
      />
    );

  const { statusText } = wizard;
  return (
    <div className="space-y-6">
      <Stepper
        step={step}
        // Not while a step is saved: a second save would race the first for the step shown.
        canJump={(id) => !busy && (id < step || (Boolean(campaign) && id <= 6))}
        onJump={(id) => void goTo(id)}
      />
      {wizard.restored && campaign && (
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

      <SendConfirmDialog
        open={confirming}
        onClose={() => setConfirming(false)}
        onConfirm={confirmSend}
        campaign={campaign}
        state={state}
        summary={summary.data}
        savedRecipients={savedRecipients}
        sending={send.isPending}
        sendError={send.error}
      />
    </div>
  );
}
