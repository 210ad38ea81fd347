import { useId, useState } from 'react';

import { errorMessage } from '@/api/client';
import { ChannelFilter } from '@/components/channel-filter';
import { Alert } from '@/components/ui/alert';
import { StatusBadge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { useConfirm } from '@/components/ui/confirm-dialog';
import { DataTable, type Column } from '@/components/ui/data-table';
import { EmptyState } from '@/components/ui/empty-state';
import { selectClass } from '@/components/ui/field';
import { Modal } from '@/components/ui/modal';
import { PaginationBar } from '@/components/ui/pagination';
import { LoadingBlock } from '@/components/ui/spinner';
import { useToast } from '@/components/ui/toast';
import { formatDateTime, plural } from '@/lib/format';
import type { Campaign, CampaignRecipient, Channel, RecipientStatus } from '@/types/campaign';

import { downloadRecipientsCsv, useCampaignRecipients } from '../api/get-campaign-recipients';
import { useMessagingStats } from '../api/get-messaging-stats';
import { useRemoveCampaignRecipient } from '../api/remove-campaign-recipient';
import { useRetryFailed } from '../api/send-campaign';

const STATUS_FILTERS: { value: RecipientStatus | ''; label: string }[] = [
  { value: '', label: 'All statuses' },
  { value: 'pending', label: 'Pending' },
  { value: 'sent', label: 'Sent' },
  { value: 'failed', label: 'Failed' },
  { value: 'skipped', label: 'Skipped' },
  { value: 'cancelled', label: 'Cancelled' },
];

const channelNames = { email: 'Email', whatsapp: 'WhatsApp' } as const;

interface Props {
  campaign: Campaign;
  open: boolean;
  onClose: () => void;
}

/** The same rule as the customer list: on screen a phone number shows its last four digits,
 * enough to recognise, not to dial; the CSV export, the owner's record, has it in full. */
function maskPhone(phone: string): string {
  const digits = phone.replace(/\D/g, '');
  if (digits.length <= 4) return '•'.repeat(digits.length);
  return '•'.repeat(digits.length - 4) + digits.slice(-4);
}

/** Provider codes (Twilio's numbers, SMTP replies) help support; our own reasons do not. */
function isProviderCode(code: string | null | undefined): code is string {
  return !!code && /^(\d+|smtp-\d+|http-\d+)$/.test(code);
}

/** The campaign's recipients, with per-channel outcomes, filters, CSV export and retry. */
export function CampaignRecipientsModal({ campaign, open, onClose }: Props) {
  const ids = useId();
  const toast = useToast();
  const [status, setStatus] = useState<RecipientStatus | ''>('');
  const [channel, setChannel] = useState<Channel | ''>('');
  const [page, setPage] = useState(1);
  const [exporting, setExporting] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const live = campaign.can_cancel;
  const recipients = useCampaignRecipients(
    open ? campaign.id : 0,
    { status: status || null, channel: channel || null, page, limit: 25 },
    live,
  );
  const stats = useMessagingStats(campaign.id, open);
  const remove = useRemoveCampaignRecipient();
  const confirm = useConfirm();
  const retry = useRetryFailed();
  // Recipients change while the campaign can still be sent.
  const editable = campaign.can_send;

  const exportCsv = async () => {
    setExporting(true);
    setActionError(null);
    try {
      await downloadRecipientsCsv(campaign.id, {
        status: status || null,
        channel: channel || null,
      });
    } catch (error) {
      setActionError(errorMessage(error));
    } finally {
      setExporting(false);
    }
  };

  const data = recipients.data;
  const columns: Column<CampaignRecipient>[] = [
    {
      key: 'customer',
      header: 'Customer',
      cell: (r) => (
        <>
          <span className="font-medium text-slate-900">{r.name}</span>
          {r.customer_email && (
            <span className="block text-xs break-words text-slate-600">{r.customer_email}</span>
          )}
          {r.customer_phone && (
            <span className="block text-xs whitespace-nowrap text-slate-600">
              {maskPhone(r.customer_phone)}
            </span>
          )}
          {!r.customer_email && !r.customer_phone && (
            <span className="block text-xs text-slate-600">No contact data</span>
          )}
        </>
      ),
    },
    { key: 'status', header: 'Status', cell: (r) => <StatusBadge status={r.status} /> },
    {
      key: 'channels',
      header: 'Channels',
      cell: (r) => (
        <ul className="space-y-1">
          {r.deliveries.map((d) => (
            <li key={d.channel}>
              <StatusBadge
                status={d.provider_status ?? d.status}
                prefix={`${channelNames[d.channel]}:`}
              />
              {d.possible_duplicate && (
                <span className="ml-1 text-xs text-amber-800">possible duplicate</span>
              )}
              {d.error_message && (
                <p
                  className={`mt-0.5 max-w-xs text-xs ${
                    d.status === 'failed' ? 'text-red-800' : 'text-slate-600'
                  }`}
                >
                  {d.error_message}
                  {isProviderCode(d.error_code) && ` (code ${d.error_code})`}
                </p>
              )}
            </li>
          ))}
        </ul>
      ),
    },
    {
      key: 'sent',
      header: 'Sent',
      hideBelow: 'md',
      className: 'whitespace-nowrap text-slate-700',
      cell: (r) => formatDateTime(r.sent_at),
    },
    {
      key: 'actions',
      header: <span className="sr-only">Actions</span>,
      className: 'text-right',
      cell: (r) =>
        editable &&
        r.status === 'pending' && (
          <Button
            variant="ghost"
            size="sm"
            aria-label={`Remove ${r.name}`}
            loading={remove.isPending && remove.variables?.recipientId === r.id}
            onClick={() =>
              void confirm
                .ask({
                  title: `Remove ${r.name}?`,
                  body: 'They will not receive this campaign.',
                  confirm: 'Remove',
                  danger: true,
                })
                .then((yes) => {
                  if (yes)
                    remove.mutate(
                      { campaignId: campaign.id, recipientId: r.id },
                      { onError: (e) => setActionError(errorMessage(e)) },
                    );
                })
            }
          >
            Remove
          </Button>
        ),
    },
  ];

  return (
    <Modal open={open} onClose={onClose} size="xl" title={`Recipients of “${campaign.name}”`}>
      {confirm.dialog}
      <div className="space-y-4">
        <div className="flex flex-wrap items-end gap-3">
          <div>
            <label htmlFor={`${ids}-status`} className="mb-1 block text-sm font-medium">
              Status
            </label>
            <select
              id={`${ids}-status`}
              className={selectClass}
              value={status}
              onChange={(e) => {
                setStatus(e.target.value as RecipientStatus | '');
                setPage(1);
              }}
            >
              {STATUS_FILTERS.map((f) => (
                <option key={f.value} value={f.value}>
                  {f.label}
                </option>
              ))}
            </select>
          </div>
          <ChannelFilter
            id={`${ids}-channel`}
            value={channel}
            onChange={(value) => {
              setChannel(value);
              setPage(1);
            }}
          />
          <div className="ml-auto flex flex-wrap gap-2">
            <Button
              variant="secondary"
              loading={exporting}
              onClick={() => void exportCsv()}
              aria-describedby="recipients-phone-rule"
            >
              Export CSV
            </Button>
            {(stats.data?.failed ?? 0) > 0 && (
              <Button
                loading={retry.isPending}
                onClick={() =>
                  retry.mutate(campaign.id, {
                    onSuccess: (r) => toast.notify(`${plural(r.retried, 'message')} queued again.`),
                    onError: (e) => setActionError(errorMessage(e)),
                  })
                }
              >
                Retry failed ({stats.data?.failed})
              </Button>
            )}
          </div>
        </div>
        {actionError && <Alert tone="error">{actionError}</Alert>}
        {live && (
          <p className="text-sm text-violet-800" aria-live="polite">
            Statuses refresh every few seconds while the campaign is {campaign.status}.
          </p>
        )}
        {recipients.isError ? (
          <Alert tone="error">{errorMessage(recipients.error)}</Alert>
        ) : recipients.isPending || !data ? (
          <LoadingBlock label="Loading recipients…" />
        ) : data.items.length === 0 ? (
          <EmptyState title={status || channel ? 'No recipient matches' : 'No recipients yet'}>
            {status || channel ? 'Try another filter.' : 'Select customers in the campaign wizard.'}
          </EmptyState>
        ) : (
          <>
            <p id="recipients-phone-rule" className="text-xs text-slate-600">
              Phone numbers show their last four digits here; the CSV export has them in full.
            </p>
            {/* Scrolls sideways on a phone: focusable, so the keyboard can scroll it too. */}
            <DataTable
              caption="Recipients and their delivery status"
              columns={columns}
              rows={data.items}
              rowKey={(r) => r.id}
              rowClassName={() => 'align-top'}
              scrollLabel="Recipients table"
              testId="recipients-table"
            />
          </>
        )}
        {data && data.items.length > 0 && (
          <PaginationBar
            page={page}
            maxPage={data.pagination.max_page}
            totalCount={data.pagination.total_count}
            onPage={setPage}
            label="recipients"
            busy={recipients.isFetching}
          />
        )}
      </div>
    </Modal>
  );
}
