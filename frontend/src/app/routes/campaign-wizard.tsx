import { Link, useNavigate, useParams, useSearchParams } from 'react-router';

import { MessagingCampaignForm } from '@/features/messaging/components/messaging-campaign-form';
import type { StepId } from '@/features/messaging/lib/wizard';
import { usePageTitle } from '@/lib/use-page-title';

function useStep(): [StepId, (step: StepId) => void] {
  const [params, setParams] = useSearchParams();
  const raw = Number(params.get('step') ?? 1);
  const step = (raw >= 1 && raw <= 6 ? Math.trunc(raw) : 1) as StepId;
  return [step, (next) => setParams({ step: String(next) })];
}

function WizardPage({ campaignId }: { campaignId: number | null }) {
  usePageTitle(campaignId ? 'Edit messaging campaign' : 'New messaging campaign');
  const navigate = useNavigate();
  const [step, setStep] = useStep();
  return (
    <div className="space-y-4">
      <div>
        <Link to="/campaigns" className="text-sm text-teal-800 hover:underline">
          ← Campaigns
        </Link>
        <h1 className="text-2xl font-bold text-slate-900">
          {campaignId ? 'Messaging campaign' : 'New messaging campaign'}
        </h1>
      </div>
      <MessagingCampaignForm
        campaignId={campaignId}
        step={step}
        onStepChange={setStep}
        onCreated={(campaign) =>
          void navigate(`/campaigns/${campaign.id}/edit?step=2`, { replace: true })
        }
        onSent={(campaign) => void navigate(`/campaigns/${campaign.id}`)}
        onExit={() => void navigate('/campaigns')}
      />
    </div>
  );
}

export function NewWizardRoute() {
  return <WizardPage campaignId={null} />;
}

export function EditWizardRoute() {
  const { campaignId } = useParams();
  const id = Number(campaignId);
  return <WizardPage key={id} campaignId={Number.isFinite(id) && id > 0 ? id : -1} />;
}
