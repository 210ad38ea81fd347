import type { ComponentType, SVGProps } from 'react';

import { EnvelopeIcon, GiftIcon, StarIcon, TagIcon } from '@/components/ui/icons';
import type { Campaign, CampaignType } from '@/types/campaign';

interface TypeMeta {
  label: string;
  description: string;
  Icon: ComponentType<SVGProps<SVGSVGElement> & { title?: string }>;
  /** Icon tile colours; messaging campaigns are teal. */
  tile: string;
  accent: string;
}

export const CAMPAIGN_TYPE_META: Record<CampaignType, TypeMeta> = {
  messaging: {
    label: 'Messaging',
    description: 'Email and WhatsApp to customers who agreed to hear from you.',
    Icon: EnvelopeIcon,
    tile: 'bg-teal-100 text-teal-800',
    accent: 'border-l-teal-600',
  },
  price_reduction: {
    label: 'Price reduction',
    description: 'A percentage off bookings for a while.',
    Icon: TagIcon,
    tile: 'bg-rose-100 text-rose-800',
    accent: 'border-l-rose-500',
  },
  rewards_increase: {
    label: 'Rewards increase',
    description: 'Multiply the loyalty points customers earn.',
    Icon: StarIcon,
    tile: 'bg-amber-100 text-amber-800',
    accent: 'border-l-amber-500',
  },
  free_service: {
    label: 'Free service',
    description: 'A free service after a number of bookings.',
    Icon: GiftIcon,
    tile: 'bg-indigo-100 text-indigo-800',
    accent: 'border-l-indigo-500',
  },
};

export function CampaignTypeIcon({
  type,
  size = 'md',
}: {
  type: CampaignType;
  size?: 'sm' | 'md';
}) {
  const meta = CAMPAIGN_TYPE_META[type];
  const box = size === 'sm' ? 'h-8 w-8' : 'h-10 w-10';
  return (
    <span
      className={`inline-flex ${box} shrink-0 items-center justify-center rounded-lg ${meta.tile}`}
    >
      <meta.Icon className="h-5 w-5" title={meta.label} />
    </span>
  );
}

/** A sentence describing a non-messaging campaign's offer. */
export function describeOffer(campaign: Campaign): string | null {
  const config = campaign.config ?? {};
  switch (campaign.campaign_type) {
    case 'price_reduction':
      return `${String(config.discount_percent)} % off${config.valid_until ? ` until ${String(config.valid_until)}` : ''}`;
    case 'rewards_increase':
      return `${String(config.points_multiplier)}× loyalty points`;
    case 'free_service':
      return `Free ${String(config.service_name)} after ${String(config.after_bookings)} bookings`;
    default:
      return null;
  }
}
