import type { ReactNode } from 'react';

export type BadgeTone = 'slate' | 'teal' | 'green' | 'red' | 'amber' | 'sky' | 'violet';
const tones: Record<BadgeTone, string> = {
  slate: 'bg-slate-100 text-slate-800 ring-slate-300',
  teal: 'bg-teal-50 text-teal-900 ring-teal-300',
  green: 'bg-emerald-50 text-emerald-900 ring-emerald-300',
  red: 'bg-red-50 text-red-900 ring-red-300',
  amber: 'bg-amber-50 text-amber-900 ring-amber-300',
  sky: 'bg-sky-50 text-sky-900 ring-sky-300',
  violet: 'bg-violet-50 text-violet-900 ring-violet-300',
};

export function Badge({
  tone = 'slate',
  children,
  title,
}: {
  tone?: BadgeTone;
  children: ReactNode;
  title?: string;
}) {
  return (
    <span
      title={title}
      className={`inline-flex items-center gap-1 whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${tones[tone]}`}
    >
      {children}
    </span>
  );
}

const statusTones: Record<string, BadgeTone> = {
  draft: 'slate',
  active: 'green',
  paused: 'amber',
  ended: 'slate',
  scheduled: 'sky',
  sending: 'violet',
  sent: 'green',
  partially_failed: 'amber',
  cancelled: 'slate',
  pending: 'sky',
  failed: 'red',
  skipped: 'amber',
  delivered: 'green',
  read: 'green',
  undelivered: 'red',
};

export function statusLabel(status: string): string {
  const text = status.replace(/_/g, ' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function StatusBadge({ status, prefix }: { status: string; prefix?: string }) {
  return (
    <Badge tone={statusTones[status] ?? 'slate'}>
      {prefix && <span className="font-normal">{prefix}</span>}
      {statusLabel(status)}
    </Badge>
  );
}
