import type { ReactNode } from 'react';

/**
 * A WhatsApp message as the customer's phone shows it: a bubble from the business, with the
 * time under the text. Text keeps its line breaks and WhatsApp's *bold* and _italic_ marks
 * as typed (they are the customer's app's to render).
 */
export function ChatBubble({
  children,
  from,
  time,
  testId,
}: {
  children: ReactNode;
  from?: string;
  time?: string;
  testId?: string;
}) {
  return (
    <div className="rounded-lg bg-[#efeae2] p-3" data-testid={testId}>
      <div className="relative ml-auto max-w-[85%] rounded-lg rounded-tr-none bg-[#d9fdd3] px-3 py-2 text-sm text-slate-900 shadow-sm">
        {from && <p className="mb-0.5 text-xs font-semibold text-emerald-800">{from}</p>}
        <p className="whitespace-pre-wrap break-words">{children}</p>
        {time && <p className="mt-1 text-right text-[11px] text-slate-600">{time}</p>}
      </div>
    </div>
  );
}
