import { useId, useState } from 'react';

import { errorMessage } from '@/api/client';
import { ChannelFilter } from '@/components/channel-filter';
import { Alert } from '@/components/ui/alert';
import { Badge } from '@/components/ui/badge';
import { EmptyState } from '@/components/ui/empty-state';
import { PaginationBar } from '@/components/ui/pagination';
import { LoadingBlock } from '@/components/ui/spinner';
import { formatDateTime } from '@/lib/format';
import type { Channel, OutboxMessage } from '@/types/campaign';

import { useOutbox } from '../api/get-outbox';

function MessageBody({ message }: { message: OutboxMessage }) {
  if (message.channel === 'email' && /<[a-z][\s\S]*>/i.test(message.body)) {
    return (
      <iframe
        title={`Email to ${message.to_address}`}
        sandbox=""
        srcDoc={message.body}
        className="h-64 w-full rounded border border-slate-200 bg-white"
      />
    );
  }
  return <pre className="whitespace-pre-wrap break-words font-sans text-sm">{message.body}</pre>;
}

/** What the `outbox` delivery backends captured instead of sending (for demos and tests). */
export function OutboxList() {
  const ids = useId();
  const [channel, setChannel] = useState<Channel | ''>('');
  const [page, setPage] = useState(1);
  const [open, setOpen] = useState<number | null>(null);
  const outbox = useOutbox({ channel: channel || null, page });
  const data = outbox.data;
  return (
    <div className="space-y-4">
      <ChannelFilter
        id={`${ids}-channel`}
        value={channel}
        onChange={(value) => {
          setChannel(value);
          setPage(1);
        }}
      />
      {outbox.isError ? (
        <Alert tone="error">{errorMessage(outbox.error)}</Alert>
      ) : outbox.isPending || !data ? (
        <LoadingBlock label="Loading the outbox…" />
      ) : data.items.length === 0 ? (
        <EmptyState title="The outbox is empty">
          Messages appear here when a campaign is sent with the outbox delivery backend.
        </EmptyState>
      ) : (
        <ul className="space-y-2" aria-label="Captured messages" data-testid="outbox-list">
          {data.items.map((m) => (
            <li key={m.id} className="rounded-lg border border-slate-200 bg-white">
              <button
                type="button"
                aria-expanded={open === m.id}
                onClick={() => setOpen(open === m.id ? null : m.id)}
                className="flex w-full flex-wrap items-center gap-3 px-4 py-3 text-left"
              >
                <Badge tone={m.channel === 'email' ? 'teal' : 'green'}>
                  {m.channel === 'email' ? 'Email' : 'WhatsApp'}
                </Badge>
                <span className="min-w-0 flex-1">
                  <span className="block truncate font-medium text-slate-900">
                    {m.subject ?? m.body.slice(0, 80)}
                  </span>
                  <span className="block break-all text-xs text-slate-600">To {m.to_address}</span>
                </span>
                <span className="text-xs text-slate-600">{formatDateTime(m.created_at)}</span>
              </button>
              {open === m.id && (
                <div className="border-t border-slate-200 px-4 py-3">
                  <MessageBody message={m} />
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
      {data && data.items.length > 0 && (
        <PaginationBar
          page={page}
          maxPage={data.pagination.max_page}
          totalCount={data.pagination.total_count}
          onPage={setPage}
          label="messages"
          busy={outbox.isFetching}
        />
      )}
    </div>
  );
}
