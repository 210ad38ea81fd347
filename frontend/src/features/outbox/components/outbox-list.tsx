import { useId, useState } from 'react';

import { errorMessage } from '@/api/client';
import { ChannelFilter } from '@/components/channel-filter';
import { ChatBubble } from '@/components/ChatBubble';
import { EmailFrame } from '@/components/email-frame';
import { Alert } from '@/components/ui/alert';
import { Badge } from '@/components/ui/badge';
import { EmptyState } from '@/components/ui/empty-state';
import { PaginationBar } from '@/components/ui/pagination';
import { LoadingBlock } from '@/components/ui/spinner';
import { formatDateTime } from '@/lib/format';
import type { Channel, OutboxMessage } from '@/types/campaign';

import { useOutbox } from '../api/get-outbox';

const timeOfDay = (iso: string) =>
  new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit' }).format(new Date(iso));

/** The message as it arrives: an email with its headers and HTML part (sandboxed), a
 * WhatsApp message as a chat bubble. */
function MessageBody({ message }: { message: OutboxMessage }) {
  const [plain, setPlain] = useState(false);
  if (message.channel === 'whatsapp') {
    return (
      <ChatBubble testId="outbox-whatsapp-bubble" time={timeOfDay(message.created_at)}>
        {message.body}
      </ChatBubble>
    );
  }
  return (
    <article className="overflow-hidden rounded-md border border-slate-200 bg-white">
      <dl className="grid grid-cols-[auto_minmax(0,1fr)] gap-x-3 border-b border-slate-200 px-3 py-2 text-sm">
        {message.sender && (
          <>
            <dt className="text-slate-600">From</dt>
            <dd className="break-words">{message.sender}</dd>
          </>
        )}
        <dt className="text-slate-600">To</dt>
        <dd className="break-all">{message.to_address}</dd>
        <dt className="text-slate-600">Subject</dt>
        <dd className="font-semibold break-words">{message.subject}</dd>
      </dl>
      {message.html_body && !plain ? (
        <EmailFrame
          html={message.html_body}
          title={`Email to ${message.to_address}`}
          testId="outbox-email-frame"
          className="block h-80 w-full bg-white"
        />
      ) : (
        <pre className="whitespace-pre-wrap break-words px-3 py-2 font-sans text-sm">
          {message.body}
        </pre>
      )}
      {message.html_body && (
        <div className="border-t border-slate-200 px-3 py-1.5">
          <button
            type="button"
            className="text-sm text-teal-800 underline"
            onClick={() => setPlain(!plain)}
          >
            {plain ? 'Show the email as it looks' : 'Show the plain-text version'}
          </button>
        </div>
      )}
    </article>
  );
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
