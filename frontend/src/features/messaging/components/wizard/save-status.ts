import { fieldLabel, shortReason, type WizardErrors } from '../../lib/wizard';

export type SaveStatus =
  | { kind: 'idle' }
  | { kind: 'saving' }
  | { kind: 'saved'; at: Date }
  | { kind: 'failed'; message: string };

const timeOfDay = (at: Date) =>
  new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit' }).format(at);

/** "Saved 14:32", "Not saved: WhatsApp message — …", in that order of urgency. */
export function saveStatusText({
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
