import { errorMessage } from '@/api/client';
import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Modal } from '@/components/ui/modal';
import { formatDateTime, formatMoney, formatNumber, plural } from '@/lib/format';
import { zonedLocalToIso } from '@/lib/timezone';
import type { Campaign, SendSummary } from '@/types/campaign';

import type { WizardState } from '../../lib/wizard';

interface Props {
  open: boolean;
  onClose: () => void;
  onConfirm: () => void;
  campaign: Campaign | undefined;
  state: WizardState;
  summary: SendSummary | undefined;
  savedRecipients: number;
  sending: boolean;
  sendError: unknown;
}

/** "Send this campaign now?": what will leave, on which channels, and what it costs. */
export function SendConfirmDialog({
  open,
  onClose,
  onConfirm,
  campaign,
  state,
  summary,
  savedRecipients,
  sending,
  sendError,
}: Props) {
  const scheduledIso =
    state.scheduleMode === 'later' && state.scheduledLocal
      ? zonedLocalToIso(state.scheduledLocal, state.timeZone)
      : null;
  return (
    <Modal
      open={open}
      onClose={onClose}
      title={state.scheduleMode === 'now' ? 'Send this campaign now?' : 'Schedule this campaign?'}
      footer={
        <>
          <Button variant="secondary" onClick={onClose}>
            Not yet
          </Button>
          <Button
            loading={sending}
            // The server refuses a send that fails a check; this says so before it is tried.
            disabled={!summary?.can_send}
            onClick={onConfirm}
          >
            {state.scheduleMode === 'now' ? 'Send now' : 'Schedule'}
          </Button>
        </>
      }
    >
      <div className="space-y-3 text-sm">
        {sendError ? <Alert tone="error">{errorMessage(sendError)}</Alert> : null}
        <p>
          <strong>{campaign?.name}</strong> goes to{' '}
          <strong>{plural(summary?.recipients ?? savedRecipients, 'customer')}</strong> by{' '}
          {state.channels.map((c) => (c === 'email' ? 'email' : 'WhatsApp')).join(' and ')}
          {scheduledIso
            ? ` on ${formatDateTime(scheduledIso, state.timeZone)} (${state.timeZone})`
            : ', starting now'}
          .
        </p>
        {summary && (
          <ul className="list-inside list-disc text-slate-700">
            {summary.channels.map((c) => (
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
            <li>Estimated cost: {formatMoney(summary.estimated_cost, summary.currency)}</li>
          </ul>
        )}
        <p className="text-slate-700">Messages that have left cannot be recalled.</p>
      </div>
    </Modal>
  );
}
