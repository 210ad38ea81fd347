import { Modal } from '@/components/ui/modal';
import { CAMPAIGN_TYPES, type CampaignType } from '@/types/campaign';

import { CAMPAIGN_TYPE_META, CampaignTypeIcon } from './campaign-type';

/** "What kind of campaign?" — the four types, messaging first. */
export function CampaignTypePicker({
  open,
  onClose,
  onPick,
}: {
  open: boolean;
  onClose: () => void;
  onPick: (type: CampaignType) => void;
}) {
  return (
    <Modal open={open} onClose={onClose} title="New campaign" size="lg">
      <ul className="grid gap-3 sm:grid-cols-2">
        {CAMPAIGN_TYPES.map((type) => {
          const meta = CAMPAIGN_TYPE_META[type];
          return (
            <li key={type}>
              <button
                type="button"
                onClick={() => onPick(type)}
                className={`flex h-full w-full items-start gap-3 rounded-lg border border-l-4 border-slate-200 bg-white p-4 text-left hover:bg-slate-50 ${meta.accent}`}
              >
                <CampaignTypeIcon type={type} />
                <span>
                  <span className="block font-semibold text-slate-900">{meta.label}</span>
                  <span className="block text-sm text-slate-600">{meta.description}</span>
                </span>
              </button>
            </li>
          );
        })}
      </ul>
    </Modal>
  );
}
