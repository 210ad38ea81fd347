import { useCallback, useEffect, useEffectEvent, useRef, useState } from 'react';

import { ApiError, errorMessage } from '@/api/client';
import { useUpdateCampaign } from '@/features/campaigns/api/update-campaign';
import type { Campaign, CampaignUpdate, Place } from '@/types/campaign';

import {
  autosaveKey,
  configFromState,
  defaultTimeZone,
  initialState,
  savableState,
  unsavableFields,
  wizardFieldFor,
  type WizardErrors,
  type WizardState,
} from '../../lib/wizard';
import { clearDraft, loadDraft, saveDraft } from '../../lib/wizard-draft';
import { saveStatusText, type SaveStatus } from './save-status';

// Autosave waits for a pause in typing this long.
const AUTOSAVE_DELAY_MS = 800;

/** The wizard's errors for the fields an API error names (`messaging_config.email_subject`). */
export function fieldErrorsOf(error: unknown): WizardErrors {
  const fieldErrors: WizardErrors = {};
  if (error instanceof ApiError)
    for (const e of error.fieldErrors) {
      const field = wizardFieldFor(e.field);
      if (field) fieldErrors[field] ??= e.message.charAt(0).toUpperCase() + e.message.slice(1);
    }
  return fieldErrors;
}

/** Editing a field clears its errors and those of the fields that travel with it. */
function withoutErrorsOf(errors: WizardErrors, patch: Partial<WizardState>): WizardErrors {
  const next = { ...errors };
  for (const key of Object.keys(patch)) {
    delete next[key];
    if (key === 'whatsappVariables' || key === 'whatsappSid' || key === 'whatsappMode')
      for (const k of Object.keys(next)) if (k.startsWith('whatsappVariables')) delete next[k];
    if (key === 'timeZone' || key === 'scheduleMode') delete next.scheduledLocal;
  }
  return next;
}

/**
 * The wizard's state and its autosave (ADR 012): every field that can be saved is saved as
 * it changes, one that cannot (too long, an unknown variable, refused by the server) stays at
 * its saved value and says so without holding back the others; saves run one after the
 * other; what the server does not have yet is kept in the tab and leaving warns.
 */
export function useWizardState(campaign: Campaign | undefined, places: Place[]) {
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
  // Fields the server refused as typed; autosave leaves them out until they change.
  const [refused, setRefused] = useState<WizardErrors>({});
  const [savedState, setSavedState] = useState<WizardState>(base);
  const [saveStatus, setSaveStatus] = useState<SaveStatus>({ kind: 'idle' });
  const queue = useRef<Promise<unknown>>(Promise.resolve());
  const patch = useUpdateCampaign();

  const update = useCallback((change: Partial<WizardState>) => {
    setState((s) => ({ ...s, ...change }));
    setErrors((e) => withoutErrorsOf(e, change));
    setRefused((r) => withoutErrorsOf(r, change));
  }, []);

  const unsavable = { ...unsavableFields(state), ...refused };
  const savable = savableState(state, savedState, Object.keys(unsavable));
  const savableKey = autosaveKey(savable);
  const savedKey = autosaveKey(savedState);
  const placesDirty =
    campaign !== undefined &&
    [...state.placeIds].sort().join() !== [...campaign.place_ids].sort().join();
  const dirty =
    campaign === undefined
      ? Boolean(state.name.trim() || state.description.trim())
      : savedKey !== autosaveKey(state) || placesDirty || state.selectionTouched;

  /** PATCHes the campaign after the saves already queued; `savedAs` is what it then holds. */
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

  const autosave = useEffectEvent(() => {
    const s = savable;
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
        // Saved again (the keys change) without the fields the server refused.
        setRefused((r) => ({ ...r, ...fieldErrors }));
        setErrors((e) => ({ ...e, ...fieldErrors }));
        setSaveStatus({ kind: 'idle' });
      }
    });
  });

  const created = campaign !== undefined;
  useEffect(() => {
    if (!created || savableKey === savedKey) return;
    const timer = window.setTimeout(autosave, AUTOSAVE_DELAY_MS);
    return () => window.clearTimeout(timer);
  }, [created, savableKey, savedKey]);

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

  return {
    state,
    setState,
    update,
    errors,
    setErrors,
    savedState,
    persist,
    restored,
    placesDirty,
    statusText: saveStatusText({ status: saveStatus, unsavable, dirty, created }),
  };
}
