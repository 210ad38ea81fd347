import { errorMessage } from '@/api/client';
import { Alert } from '@/components/ui/alert';
import { LoadingBlock } from '@/components/ui/spinner';
import { useCampaign } from '@/features/campaigns/api/get-campaign';
import { usePlaces } from '@/features/campaigns/api/get-places';
import type { Campaign } from '@/types/campaign';

import type { StepId } from '../lib/wizard';
import { WizardBody } from './wizard/wizard-body';

export interface MessagingCampaignFormProps {
  campaignId: number | null;
  step: StepId;
  onStepChange: (step: StepId) => void;
  onCreated: (campaign: Campaign) => void;
  onSent: (campaign: Campaign) => void;
  onExit: () => void;
}

/** The six-step messaging campaign wizard; every step is saved on the server as a draft. */
export function MessagingCampaignForm(props: MessagingCampaignFormProps) {
  const places = usePlaces();
  const campaign = useCampaign(props.campaignId);
  if (props.campaignId !== null && !(props.campaignId > 0)) {
    return <Alert tone="error">There is no such campaign.</Alert>;
  }
  if (places.isError || campaign.isError) {
    return (
      <Alert tone="error" title="The campaign could not be loaded">
        {errorMessage(places.error ?? campaign.error)}
      </Alert>
    );
  }
  if (places.isPending || (props.campaignId !== null && campaign.isPending)) {
    return <LoadingBlock label="Loading the campaign…" />;
  }
  if (places.data.length === 0) {
    return (
      <Alert tone="warning" title="No places yet">
        A messaging campaign reaches the customers of your places; this account has none.
      </Alert>
    );
  }
  const data = props.campaignId !== null ? campaign.data : undefined;
  if (data && data.campaign_type !== 'messaging') {
    return <Alert tone="error">This is not a messaging campaign.</Alert>;
  }
  // The wizard ends in a send: it opens what the API would let the owner send.
  if (data && !data.can_send) {
    return (
      <Alert
        tone="info"
        title={`This campaign is ${data.archived_at ? 'archived' : data.status.replace('_', ' ')}`}
      >
        {data.archived_at
          ? 'Unarchive it on the campaign page to change or send it.'
          : data.status === 'scheduled'
            ? 'Cancel the schedule on the campaign page to change it.'
            : 'It has been sent and can no longer be edited.'}
      </Alert>
    );
  }
  return <WizardBody key={data?.id ?? 'new'} {...props} campaign={data} places={places.data} />;
}
