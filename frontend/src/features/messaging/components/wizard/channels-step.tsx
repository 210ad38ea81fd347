import { ChatIcon, EnvelopeIcon } from '@/components/ui/icons';
import type { Channel } from '@/types/campaign';

import type { StepProps } from './step-props';
import { StepHeading } from './stepper';

const CHANNELS = [
  ['email', 'Email', 'A rich message with your own subject.', EnvelopeIcon],
  ['whatsapp', 'WhatsApp', 'A short text or an approved template.', ChatIcon],
] as const;

/** Step 3: email, WhatsApp or both. */
export function ChannelsStep({ state, update }: Omit<StepProps, 'errors'>) {
  return (
    <>
      <StepHeading step={3}>How should the message reach your customers?</StepHeading>
      <fieldset>
        <legend className="sr-only">Channels</legend>
        <div className="grid gap-3 sm:grid-cols-2">
          {CHANNELS.map(([channel, label, text, Icon]) => (
            <label
              key={channel}
              className={`flex cursor-pointer items-start gap-3 rounded-lg border p-4 text-sm ${state.channels.includes(channel) ? 'border-teal-600 bg-teal-50' : 'border-slate-200 bg-white'}`}
            >
              <input
                type="checkbox"
                className="mt-0.5 h-4 w-4 accent-teal-700"
                checked={state.channels.includes(channel)}
                onChange={(e) =>
                  update({
                    channels: (e.target.checked
                      ? [...state.channels, channel]
                      : state.channels.filter((c) => c !== channel)
                    ).sort() as Channel[],
                  })
                }
              />
              <Icon className="h-6 w-6 shrink-0 text-teal-700" />
              <span>
                <span className="font-medium text-slate-900">{label}</span>
                <span className="block text-slate-600">{text}</span>
              </span>
            </label>
          ))}
        </div>
      </fieldset>
    </>
  );
}
