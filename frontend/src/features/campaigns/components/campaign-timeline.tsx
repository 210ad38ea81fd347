import { useState } from 'react';

import { errorMessage } from '@/api/client';
import { Alert } from '@/components/ui/alert';
import { PaginationBar } from '@/components/ui/pagination';
import { LoadingBlock } from '@/components/ui/spinner';
import { useCampaignAuditEvents } from '@/features/campaigns/api/get-campaign-audit-events';
import { formatDateTime, formatNumber, plural } from '@/lib/format';
import type { AuditActor, AuditEvent } from '@/types/campaign';

type Details = Record<string, unknown>;
type Change<T> = { from: T; to: T };

const CHANNEL_NAMES: Record<string, string> = { email: 'Email', whatsapp: 'WhatsApp' };
const FILTER_NAMES: Record<string, string> = {
  all: 'all customers',
  has_email: 'customers with an email address',
  has_phone: 'customers with a phone number',
};
const CONTENT_NAMES: Record<string, string> = {
  email_subject: 'the email subject',
  email_body: 'the email message',
  whatsapp_message: 'the WhatsApp message',
  whatsapp_content_sid: 'the WhatsApp template',
  whatsapp_content_variables: 'the WhatsApp template’s values',
};
const STATUS_WORDS: Record<string, string> = {
  sent: 'sent',
  failed: 'failed',
  skipped: 'skipped',
  pending: 'waiting',
  sending: 'being sent',
  cancelled: 'not sent',
};

const ACTORS: Record<AuditActor, string> = {
  owner: 'You',
  customer: 'A customer',
  worker: 'Rebook, sending',
  system: 'Rebook',
};

function channelList(value: unknown): string {
  const channels = Array.isArray(value) ? (value as string[]) : [];
  return channels.map((c) => CHANNEL_NAMES[c] ?? c).join(' + ') || 'no channel';
}

function num(value: unknown): number {
  return typeof value === 'number' ? value : 0;
}

/** "Email: 2 sent, 1 skipped · WhatsApp: 1 waiting" from per-channel status counts. */
function countsLine(value: unknown): string | null {
  if (!value || typeof value !== 'object') return null;
  const parts = Object.entries(value as Record<string, Record<string, number>>)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([channel, statuses]) => {
      const words = Object.entries(statuses)
        .filter(([, n]) => n > 0)
        .map(([status, n]) => `${formatNumber(n)} ${STATUS_WORDS[status] ?? status}`);
      return `${CHANNEL_NAMES[channel] ?? channel}: ${words.join(', ') || 'none'}`;
    });
  return parts.length ? parts.join(' · ') : null;
}

function when(iso: unknown, timeZone?: string): string {
  return typeof iso === 'string' ? formatDateTime(iso, timeZone) : 'no time';
}

function editLines(d: Details, timeZone?: string): string[] {
  const changes = (d.changes ?? {}) as Details;
  const lines: string[] = [];
  const name = changes.name as Change<string> | undefined;
  if (name) lines.push(`Renamed from “${name.from}” to “${name.to}”`);
  const time = changes.scheduled_send_time as Change<string | null> | undefined;
  if (time) {
    if (!time.from) lines.push(`Set the send time to ${when(time.to, timeZone)}`);
    else if (!time.to) lines.push(`Removed the send time (was ${when(time.from, timeZone)})`);
    else
      lines.push(
        `Moved the send time from ${when(time.from, timeZone)} to ${when(time.to, timeZone)}`,
      );
  }
  const channels = changes.channels as Change<string[]> | undefined;
  if (channels)
    lines.push(
      `Channels changed from ${channelList(channels.from)} to ${channelList(channels.to)}`,
    );
  if (changes.place_ids) lines.push('Changed the places it targets');
  const status = changes.status as Change<string> | undefined;
  if (status) lines.push(`Status changed from ${status.from} to ${status.to}`);
  const subject = changes.email_subject as Change<string | null> | undefined;
  if (subject)
    lines.push(
      subject.from
        ? `Email subject: “${subject.from}” → “${subject.to ?? ''}”`
        : `Set the email subject to “${subject.to ?? ''}”`,
    );
  const content = ((changes.content as string[] | undefined) ?? []).filter(
    (f) => f !== 'email_subject',
  );
  if (content.length) lines.push(`Changed ${content.map((f) => CONTENT_NAMES[f] ?? f).join(', ')}`);
  if (!lines.length) {
    const fields = ((d.fields as string[] | undefined) ?? []).map((f) => f.replace(/_/g, ' '));
    lines.push(fields.length ? `Saved: ${fields.join(', ')} (nothing changed)` : 'Saved');
  }
  return lines;
}

function sendLines(d: Details): string[] {
  const lines = [`To ${plural(num(d.recipients), 'recipient')} by ${channelList(d.channels)}`];
  const counts = countsLine(d.deliveries);
  if (counts) lines.push(counts);
  return lines;
}

/** What an event did, in the owner's words: a title and detail lines. */
export function describeEvent(
  event: Pick<AuditEvent, 'action' | 'details'>,
  timeZone?: string,
): { title: string; lines: string[] } {
  const d = event.details as Details;
  switch (event.action) {
    case 'campaign.created': {
      const lines = d.channels ? [`Channels: ${channelList(d.channels)}`] : [];
      if (d.scheduled_send_time) lines.push(`Send time: ${when(d.scheduled_send_time, timeZone)}`);
      return { title: `Created the campaign “${String(d.name ?? '')}”`, lines };
    }
    case 'campaign.updated':
      return {
        title: d.while_scheduled
          ? 'Edited the campaign while it was scheduled'
          : 'Edited the campaign',
        lines: editLines(d, timeZone),
      };
    case 'campaign.recipients_added': {
      const title = `Added ${plural(num(d.count), 'recipient')}`;
      if (d.by === 'select_all') {
        const how = [`Everyone matching: ${FILTER_NAMES[String(d.filter_by)] ?? d.filter_by}`];
        if (d.search) how.push(`search “${String(d.search)}”`);
        if (num(d.excluded)) how.push(`${formatNumber(num(d.excluded))} left out by hand`);
        return { title, lines: [how.join(', ')] };
      }
      const requested = num(d.requested);
      const lines = [`Chosen one by one (${plural(requested, 'customer')} picked)`];
      if (requested > num(d.count))
        lines.push(`${plural(requested - num(d.count), 'was', 'were')} already in the list`);
      return { title, lines };
    }
    case 'campaign.recipients_removed':
      if (d.all && !num(d.count))
        return { title: 'Started the selection over (nobody to remove)', lines: [] };
      return d.all
        ? { title: `Removed ${plural(num(d.count), 'recipient')} not yet messaged`, lines: [] }
        : { title: 'Removed a recipient', lines: d.user_id ? [`Customer #${d.user_id}`] : [] };
    case 'campaign.sent':
      return { title: 'Sent the campaign now', lines: sendLines(d) };
    case 'campaign.scheduled':
      return {
        title: `Scheduled it for ${when(d.scheduled_send_time, timeZone)}`,
        lines: sendLines(d),
      };
    case 'campaign.sending_started':
      return { title: 'Started sending at the scheduled time', lines: [] };
    case 'campaign.finished':
      return {
        title:
          d.status === 'failed'
            ? 'Finished sending; every message failed'
            : d.status === 'partially_failed'
              ? 'Finished sending; some messages failed'
              : 'Finished sending',
        lines: [],
      };
    case 'campaign.cancelled': {
      const lines = [`${plural(num(d.cancelled), 'message')} not sent`];
      const counts = countsLine(d.deliveries);
      if (counts) lines.push(`After the cancel: ${counts}`);
      return {
        title: d.previous_status === 'sending' ? 'Stopped sending' : 'Cancelled the schedule',
        lines,
      };
    }
    case 'campaign.retry_failed': {
      const perChannel = Object.entries((d.channels ?? {}) as Record<string, number>)
        .map(([c, n]) => `${CHANNEL_NAMES[c] ?? c}: ${formatNumber(n)}`)
        .join(' · ');
      return {
        title: `Sent ${plural(num(d.count), 'failed message')} again`,
        lines: perChannel ? [perChannel] : [],
      };
    }
    case 'campaign.whatsapp_stopped':
      return {
        title: `Stopped the WhatsApp messages: ${plural(num(d.stopped), 'message')} not sent`,
        lines: d.reason ? [String(d.reason)] : [],
      };
    case 'campaign.archived':
      return { title: 'Archived the campaign', lines: [] };
    case 'campaign.unarchived':
      return { title: 'Brought the campaign back from the archive', lines: [] };
    default: {
      const words = event.action.replace(/^campaign\./, '').replace(/_/g, ' ');
      return { title: words.charAt(0).toUpperCase() + words.slice(1), lines: [] };
    }
  }
}

/** "from 203.0.113.7 · Firefox 140" — short enough to read, the full agent on hover. */
function origin(event: AuditEvent): { text: string; title?: string } | null {
  if (!event.ip_address && !event.user_agent) return null;
  const agent = event.user_agent ?? '';
  const browser = /(Edg|Firefox|Chrome|Safari)\/(\d+)/.exec(agent);
  const parts = [event.ip_address ? `from ${event.ip_address}` : null];
  if (browser) parts.push(`${browser[1] === 'Edg' ? 'Edge' : browser[1]} ${browser[2]}`);
  else if (agent) parts.push(agent.length > 40 ? `${agent.slice(0, 40)}…` : agent);
  return { text: parts.filter(Boolean).join(' · '), title: agent || undefined };
}

export function CampaignTimelineView({
  events,
  timeZone,
}: {
  events: AuditEvent[];
  timeZone?: string;
}) {
  if (!events.length) return <p className="text-sm text-slate-700">Nothing recorded yet.</p>;
  return (
    <ol className="relative space-y-4 border-l border-slate-200 pl-5" aria-label="Campaign history">
      {events.map((event) => {
        const { title, lines } = describeEvent(event, timeZone);
        const from = origin(event);
        return (
          <li key={event.id} className="relative" data-testid="timeline-event">
            <span
              aria-hidden
              className="absolute top-1.5 -left-[1.65rem] h-2.5 w-2.5 rounded-full bg-teal-700 ring-4 ring-white"
            />
            <p className="font-medium text-slate-900">{title}</p>
            {lines.map((line) => (
              <p key={line} className="text-sm text-slate-700">
                {line}
              </p>
            ))}
            <p className="text-xs text-slate-600">
              <time dateTime={event.created_at}>{formatDateTime(event.created_at, timeZone)}</time>
              {' · '}
              {ACTORS[event.actor]}
              {from && (
                <>
                  {' · '}
                  <span title={from.title}>{from.text}</span>
                </>
              )}
            </p>
          </li>
        );
      })}
    </ol>
  );
}

/** The campaign's audit trail: every change, send and cancel, who did it and from where. */
export function CampaignTimeline({
  campaignId,
  timeZone,
  live = false,
}: {
  campaignId: number;
  timeZone?: string;
  live?: boolean;
}) {
  const [page, setPage] = useState(1);
  const events = useCampaignAuditEvents(campaignId, page, live);
  return (
    <section aria-labelledby="campaign-history" className="space-y-3">
      <h2 id="campaign-history" className="text-lg font-semibold text-slate-900">
        History
      </h2>
      {events.isError ? (
        <Alert tone="error">{errorMessage(events.error)}</Alert>
      ) : events.isPending ? (
        <LoadingBlock label="Loading the history…" />
      ) : (
        <>
          <CampaignTimelineView events={events.data.items} timeZone={timeZone} />
          {events.data.pagination.max_page > 1 && (
            <PaginationBar
              page={page}
              maxPage={events.data.pagination.max_page}
              totalCount={events.data.pagination.total_count}
              onPage={setPage}
              label="events"
              busy={events.isFetching}
            />
          )}
        </>
      )}
    </section>
  );
}
