import { errorMessage } from '@/api/client';
import { Alert } from '@/components/ui/alert';
import { LoadingBlock } from '@/components/ui/spinner';
import { formatMoney, formatNumber, formatPercent } from '@/lib/format';
import type { ChannelStats, MessagingStats } from '@/types/campaign';

import { useMessagingStats } from '../api/get-messaging-stats';

const channelNames = { email: 'Email', whatsapp: 'WhatsApp' } as const;

function Card({
  label,
  value,
  detail,
  tone = 'slate',
}: {
  label: string;
  value: string;
  detail?: string;
  tone?: 'slate' | 'green' | 'red' | 'sky' | 'amber';
}) {
  const tones = {
    slate: 'border-slate-200',
    green: 'border-emerald-300',
    red: 'border-red-300',
    sky: 'border-sky-300',
    amber: 'border-amber-300',
  };
  return (
    <div className={`rounded-lg border-l-4 bg-white p-4 shadow-sm ${tones[tone]}`}>
      <dt className="text-sm text-slate-600">{label}</dt>
      <dd className="mt-1 text-2xl font-semibold text-slate-900">{value}</dd>
      {detail && <dd className="text-sm text-slate-700">{detail}</dd>}
    </div>
  );
}

const SEGMENTS = [
  { key: 'sent', label: 'Sent', color: 'bg-emerald-600' },
  { key: 'failed', label: 'Failed', color: 'bg-red-600' },
  { key: 'pending', label: 'Pending', color: 'bg-sky-500' },
  { key: 'skipped', label: 'Skipped', color: 'bg-amber-500' },
  { key: 'cancelled', label: 'Cancelled', color: 'bg-slate-400' },
] as const;

/** Messages that could leave: skipped ones (no address, unsubscribed) never could, and
 * cancelled ones were stopped by the owner. */
function reachable(s: { total: number; skipped: number; cancelled: number }): number {
  return Math.max(0, s.total - s.skipped - s.cancelled);
}

/** One bar per channel, split by outcome; the numbers are in the accessible label and legend. */
function ChannelBar({ stats }: { stats: ChannelStats }) {
  const total = Math.max(stats.total, 1);
  const description = SEGMENTS.map(
    (s) => `${formatNumber(stats[s.key])} ${s.label.toLowerCase()}`,
  ).join(', ');
  return (
    <div>
      <div className="mb-1 flex flex-wrap justify-between gap-2 text-sm">
        <span className="font-medium text-slate-900">{channelNames[stats.channel]}</span>
        <span className="text-slate-700">
          {formatNumber(stats.sent)} of {formatNumber(reachable(stats))} reachable sent
          {stats.skipped ? ` · ${formatNumber(stats.skipped)} could not be reached` : ''} ·{' '}
          {formatPercent(stats.delivery_rate)} delivery rate
          {stats.bounced > 0 && ` · ${formatNumber(stats.bounced)} bounced`}
          {stats.complained > 0 && ` · ${formatNumber(stats.complained)} marked as spam`}
        </span>
      </div>
      <div
        role="img"
        aria-label={`${channelNames[stats.channel]}: ${description}`}
        className="flex h-4 overflow-hidden rounded-full bg-slate-100"
      >
        {SEGMENTS.map((s) =>
          stats[s.key] > 0 ? (
            <div
              key={s.key}
              className={s.color}
              style={{ width: `${(stats[s.key] / total) * 100}%` }}
            />
          ) : null,
        )}
      </div>
    </div>
  );
}

export function CampaignStatsView({ stats }: { stats: MessagingStats }) {
  const live = stats.status === 'sending';
  return (
    <section aria-label="Campaign statistics" className="space-y-4">
      {live && (
        <p className="flex items-center gap-2 text-sm text-violet-800" aria-live="polite">
          <span className="h-2 w-2 animate-pulse rounded-full bg-violet-600" aria-hidden />
          Sending — the numbers refresh every few seconds.
        </p>
      )}
      <dl
        className="grid grid-cols-2 gap-3 md:grid-cols-3 xl:grid-cols-6"
        data-testid="stats-cards"
      >
        <Card
          label="Recipients"
          value={formatNumber(stats.total_recipients)}
          detail={`${formatNumber(stats.total)} messages`}
        />
        <Card
          label="Sent"
          tone="green"
          value={formatNumber(stats.sent)}
          detail={formatPercent(stats.sent_percent)}
        />
        <Card
          label="Failed"
          tone="red"
          value={formatNumber(stats.failed)}
          detail={formatPercent(stats.failed_percent)}
        />
        <Card
          label="Pending"
          tone="sky"
          value={formatNumber(stats.pending)}
          detail={formatPercent(stats.pending_percent)}
        />
        <Card
          label="Skipped"
          tone="amber"
          value={formatNumber(stats.skipped)}
          detail={formatPercent(stats.skipped_percent)}
        />
        {stats.cancelled > 0 && (
          <Card
            label="Cancelled"
            value={formatNumber(stats.cancelled)}
            detail={formatPercent((stats.cancelled / Math.max(stats.total, 1)) * 100)}
          />
        )}
        <Card
          label="Cost"
          value={formatMoney(stats.cost, stats.currency)}
          detail={`estimated ${formatMoney(stats.estimated_cost, stats.currency)}`}
        />
      </dl>
      {stats.channels.length > 0 && (
        <div className="space-y-3 rounded-lg border border-slate-200 bg-white p-4">
          <h2 className="font-semibold text-slate-900">By channel</h2>
          {stats.channels.map((c) => (
            <ChannelBar key={c.channel} stats={c} />
          ))}
          <ul className="flex flex-wrap gap-3 text-xs text-slate-700" aria-label="Legend">
            {SEGMENTS.map((s) => (
              <li key={s.key} className="flex items-center gap-1">
                <span className={`h-2.5 w-2.5 rounded-sm ${s.color}`} aria-hidden /> {s.label}
              </li>
            ))}
          </ul>
        </div>
      )}
      {stats.possible_duplicates > 0 && (
        <Alert tone="warning">
          {formatNumber(stats.possible_duplicates)} messages may have been sent twice after a
          provider timeout.
        </Alert>
      )}
    </section>
  );
}

/** The messaging stats of a campaign; refreshes by itself while the campaign is sending. */
export function CampaignStats({ campaignId }: { campaignId: number }) {
  const stats = useMessagingStats(campaignId);
  if (stats.isPending) return <LoadingBlock label="Loading statistics…" />;
  if (stats.isError) return <Alert tone="error">{errorMessage(stats.error)}</Alert>;
  return <CampaignStatsView stats={stats.data} />;
}

/** A one-line summary for the campaign list. */
export function InlineMessagingStats({ campaignId }: { campaignId: number }) {
  const stats = useMessagingStats(campaignId);
  if (!stats.data) return <span className="text-xs text-slate-500">…</span>;
  const s = stats.data;
  const canLeave = reachable(s);
  const width = canLeave ? (s.sent / canLeave) * 100 : 0;
  return (
    <div className="min-w-40 text-xs text-slate-700" data-testid="inline-stats">
      <p>
        {formatNumber(s.total_recipients)} recipients
        {s.status !== 'draft' && s.total > 0
          ? ` · ${formatNumber(s.sent)} of ${formatNumber(canLeave)} reachable messages sent`
          : ''}
        {s.failed ? ` · ${formatNumber(s.failed)} failed` : ''}
        {s.skipped && s.status !== 'draft' ? ` · ${formatNumber(s.skipped)} unreachable` : ''}
      </p>
      {s.total > 0 && s.status !== 'draft' && (
        <div
          className="mt-1 h-1.5 overflow-hidden rounded-full bg-slate-200"
          role="progressbar"
          aria-label="Messages sent"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={Math.round(width)}
        >
          <div className="h-full bg-teal-600" style={{ width: `${width}%` }} />
        </div>
      )}
    </div>
  );
}
