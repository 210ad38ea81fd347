import { selectClass } from '@/components/ui/field';
import type { Channel } from '@/types/campaign';

type Props = {
  id: string;
  value: Channel | '';
  onChange: (channel: Channel | '') => void;
};

/** "All channels / Email / WhatsApp": the same filter on every list of messages. */
export function ChannelFilter({ id, value, onChange }: Props) {
  return (
    <div>
      <label htmlFor={id} className="mb-1 block text-sm font-medium">
        Channel
      </label>
      <select
        id={id}
        className={selectClass}
        value={value}
        onChange={(e) => onChange(e.target.value as Channel | '')}
      >
        <option value="">All channels</option>
        <option value="email">Email</option>
        <option value="whatsapp">WhatsApp</option>
      </select>
    </div>
  );
}
