import { useForm } from 'react-hook-form';

import { errorMessage } from '@/api/client';
import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { InputField } from '@/components/ui/field';
import { LoadingBlock } from '@/components/ui/spinner';
import { usePlaces } from '@/features/campaigns/api/get-places';
import type { Place } from '@/types/campaign';

import { useEmailSender, useSetEmailSender } from '../api/email-sender';
import { useUpdatePlaceReplyTo } from '../api/update-place';

function SenderAddress({ current, domains }: { current: string | null; domains: string[] }) {
  const { register, handleSubmit } = useForm({ defaultValues: { sender: current ?? '' } });
  const save = useSetEmailSender();
  const submit = handleSubmit(({ sender }) => save.mutate(sender.trim() || null));
  return (
    <form
      onSubmit={(event) => void submit(event)}
      className="space-y-3"
      aria-label="Sender address"
    >
      <InputField
        label="Send from this address"
        type="email"
        placeholder="Leave empty to send from Rebook's address"
        {...register('sender')}
        hint={
          domains.length
            ? `An address on ${domains.join(', ')}. Emails still show each place's name.`
            : 'No domain is verified for your own address yet: emails come from Rebook’s address, with each place’s name.'
        }
        error={save.isError ? errorMessage(save.error) : null}
      />
      <Button type="submit" loading={save.isPending}>
        Save sender
      </Button>
      {save.isSuccess && <Alert tone="success">Sender saved.</Alert>}
    </form>
  );
}

function ReplyTo({ place }: { place: Place }) {
  const { register, handleSubmit } = useForm({
    defaultValues: { replyTo: place.reply_to_email ?? '' },
  });
  const save = useUpdatePlaceReplyTo();
  const submit = handleSubmit(({ replyTo }) =>
    save.mutate({ placeId: place.id, replyTo: replyTo.trim() || null }),
  );
  return (
    <form
      onSubmit={(event) => void submit(event)}
      className="flex flex-wrap items-end gap-3"
      aria-label={place.name}
    >
      <InputField
        className="min-w-64 flex-1"
        label={`Replies to ${place.name} go to`}
        type="email"
        placeholder="contact@your-salon.com"
        {...register('replyTo')}
        error={save.isError ? errorMessage(save.error) : null}
      />
      <Button type="submit" variant="secondary" loading={save.isPending}>
        Save
      </Button>
      {save.isSuccess && (
        <span role="status" className="text-sm text-emerald-800">
          Saved
        </span>
      )}
    </form>
  );
}

/** Who the owner's emails come from, and where customers' replies go. */
export function EmailSenderSettings() {
  const sender = useEmailSender();
  const places = usePlaces();
  if (sender.isPending || places.isPending) return <LoadingBlock label="Loading settings…" />;
  if (sender.isError) return <Alert tone="error">{errorMessage(sender.error)}</Alert>;
  if (places.isError) return <Alert tone="error">{errorMessage(places.error)}</Alert>;
  return (
    <div className="space-y-6">
      <section
        aria-labelledby="sender-title"
        className="space-y-3 rounded-lg border border-slate-200 bg-white p-4"
      >
        <h2 id="sender-title" className="font-semibold text-slate-900">
          Sender
        </h2>
        <SenderAddress current={sender.data.sender_email} domains={sender.data.verified_domains} />
      </section>
      <section
        aria-labelledby="reply-title"
        className="space-y-4 rounded-lg border border-slate-200 bg-white p-4"
      >
        <h2 id="reply-title" className="font-semibold text-slate-900">
          Replies
        </h2>
        <p className="text-sm text-slate-700">
          When a customer answers a campaign email, the reply goes to the place’s address.
        </p>
        {places.data.map((place) => (
          <ReplyTo key={place.id} place={place} />
        ))}
      </section>
    </div>
  );
}
