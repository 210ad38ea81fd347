// Edits not yet on the server, kept in this tab's sessionStorage, so that a reload or an
// expired login (which leaves for the login page and comes back) loses nothing. Only held
// while something is unsaved; cleared once the server has it all.
import type { Selection } from './selection';
import type { WizardState } from './wizard';

const PREFIX = 'rebook.wizard-draft.';
// A hand-picked selection this large is not worth the storage; it is saved at Next anyway.
const MAX_STORED_IDS = 5_000;

type StoredSelection =
  | { mode: 'ids'; ids: number[] }
  | {
      mode: 'all';
      criteria: Extract<Selection, { mode: 'all' }>['criteria'];
      excluded: number[];
      extra: number[];
    };

interface StoredDraft {
  state: Omit<WizardState, 'selection'> & { selection: StoredSelection | null };
}

const key = (campaignId: number | null) => `${PREFIX}${campaignId ?? 'new'}`;

function storeSelection(selection: Selection): StoredSelection | null {
  if (selection.mode === 'ids') {
    return selection.ids.size > MAX_STORED_IDS ? null : { mode: 'ids', ids: [...selection.ids] };
  }
  if (selection.excluded.size + selection.extra.size > MAX_STORED_IDS) return null;
  return {
    mode: 'all',
    criteria: selection.criteria,
    excluded: [...selection.excluded],
    extra: [...selection.extra],
  };
}

function readSelection(stored: StoredSelection): Selection {
  if (stored.mode === 'ids') return { mode: 'ids', ids: new Set(stored.ids) };
  return {
    mode: 'all',
    criteria: stored.criteria,
    excluded: new Set(stored.excluded),
    extra: new Set(stored.extra),
  };
}

export function saveDraft(campaignId: number | null, state: WizardState): void {
  const draft: StoredDraft = {
    state: {
      ...state,
      selection: state.selectionTouched ? storeSelection(state.selection) : null,
    },
  };
  try {
    window.sessionStorage.setItem(key(campaignId), JSON.stringify(draft));
  } catch {
    // Storage full or disabled: the server autosave still runs.
  }
}

/** The unsaved edits of a campaign's wizard, over `base` (what the server has). */
export function loadDraft(campaignId: number | null, base: WizardState): WizardState | null {
  let raw: string | null = null;
  try {
    raw = window.sessionStorage.getItem(key(campaignId));
  } catch {
    return null;
  }
  if (!raw) return null;
  try {
    const { state } = JSON.parse(raw) as StoredDraft;
    const { selection, ...rest } = state;
    return {
      ...base,
      ...rest,
      selection: selection ? readSelection(selection) : base.selection,
      selectionTouched: selection ? rest.selectionTouched : false,
    };
  } catch {
    return null;
  }
}

export function clearDraft(campaignId: number | null): void {
  try {
    window.sessionStorage.removeItem(key(campaignId));
  } catch {
    // nothing kept
  }
}
