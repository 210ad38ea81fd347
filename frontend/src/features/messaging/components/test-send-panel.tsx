import { useState } from 'react';

import { errorMessage } from '@/api/client';
import { Alert } from '@/components/ui/alert';

import { useSendTest, type TestChannel } from '../api/send-test';

const labels = { email: 'Send me a test email', whatsapp: 'Send me a test WhatsApp' } as const;

/** Before sending: the owner receives the message as the first recipient would see it. */
export function TestSendPanel({
  campaignId,
  channels,
}: {
  campaignId: number;
  channels: TestChannel[];
}) {
  const test = useSendTest(campaignId);
  const [last, setLast] = useState<TestChannel | null>(null);
  const send = (channel: TestChannel) => {
    setLast(channel);
    test.mutate(channel);
  };
  return (
    <section
      aria-labelledby="test-send-title"
      className="space-y-3 rounded-lg border border-slate-200 bg-white p-4 lg:col-span-2"
    >
      <h3 id="test-send-title" className="font-semibold text-slate-900">
        Test before sending
      </h3>
      <p className="text-sm text-slate-700">
        Receive the message yourself, as your first recipient will. A test is marked as one and is
        not counted in the campaign.
      </p>
      <div className="flex flex-wrap gap-2">
        {channels.map((channel) => (
          <button
            key={channel}
            type="button"
            className="rounded-md border border-teal-700 px-3 py-1.5 text-sm font-medium text-teal-800 hover:bg-teal-50 disabled:opacity-50"
            disabled={test.isPending}
            onClick={() => send(channel)}
          >
            {test.isPending && last === channel ? 'Sending…' : labels[channel]}
          </button>
        ))}
      </div>
      {test.isSuccess && (
        <Alert tone="success">Test sent to {test.data.to}. Check your inbox or phone.</Alert>
      )}
      {test.isError && <Alert tone="error">{errorMessage(test.error)}</Alert>}
    </section>
  );
}
