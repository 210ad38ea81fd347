import { useEffect, useRef, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';

import { errorMessage } from '@/api/client';
import { Alert } from '@/components/ui/alert';
import { Badge, StatusBadge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { useConfirm } from '@/components/ui/confirm-dialog';
import { LoadingBlock } from '@/components/ui/spinner';
import { useToast } from '@/components/ui/toast';
import { useArchiveCampaign } from '@/features/campaigns/api/archive-campaign';
import { useCampaign } from '@/features/campaigns/api/get-campaign';
import { usePlaces } from '@/features/campaigns/api/get-places';
import { CampaignForm } from '@/features/campaigns/components/campaign-form';
import { CampaignTimeline } from '@/features/campaigns/components/campaign-timeline';
import {
  CAMPAIGN_TYPE_META,
  CampaignTypeIcon,
  describeOffer,
} from '@/features/campaigns/components/campaign-type';
import { useMessagingStats } from '@/features/messaging/api/get-messaging-stats';
import { useCancelCampaign, useRetryFailed } from '@/features/messaging/api/send-campaign';
import { CampaignRecipientsModal } from '@/features/messaging/components/campaign-recipients-modal';
import { CampaignStats } from '@/features/messaging/components/campaign-stats';
import { formatDateTime, plural } from '@/lib/format';
import { usePageTitle } from '@/lib/use-page-title';
import type { Campaign } from '@/types/campaign';

function MessagingActions({ campaign }: { campaign: Campaign }) {
  const navigate = useNavigate();
  const toast = useToast();
  const stats = useMessagingStats(campaign.id);
  const cancel = useCancelCampaign();
  const retry = useRetryFailed();
  const [recipientsOpen, setRecipientsOpen] = useState(false);
  const confirm = useConfirm();
  const error = cancel.error ?? retry.error;
  return (
    <>
      <div className="flex flex-wrap gap-2">
        <Button variant="secondary" onClick={() => setRecipientsOpen(true)}>
          View recipients
        </Button>
        {campaign.can_send && (
          <Button
            variant="secondary"
            onClick={() => void navigate(`/campaigns/${campaign.id}/edit?step=1`)}
          >
            Edit
          </Button>
        )}
        {campaign.can_cancel && (
          <Button
            variant="danger"
            loading={cancel.isPending}
            onClick={() =>
              void confirm
                .ask({
                  title: campaign.status === 'scheduled' ? 'Cancel the schedule?' : 'Stop sending?',
                  body:
                    campaign.status === 'scheduled'
                      ? 'Nothing is sent. The campaign becomes editable again.'
                      : 'Messages not yet on their way are not sent; those already sent stay sent.',
                  confirm: campaign.status === 'scheduled' ? 'Cancel schedule' : 'Stop sending',
                  danger: true,
                })
                .then((yes) => {
                  if (yes)
                    cancel.mutate(campaign.id, {
                      onSuccess: () => toast.notify('Campaign cancelled.'),
                    });
                })
            }
          >
            {campaign.status === 'scheduled' ? 'Cancel schedule' : 'Stop sending'}
          </Button>
        )}
        {(stats.data?.failed ?? 0) > 0 && (
          <Button
            loading={retry.isPending}
            onClick={() =>
              retry.mutate(campaign.id, {
                onSuccess: (r) => toast.notify(`${plural(r.retried, 'message')} queued again.`),
              })
            }
          >
            Retry failed
          </Button>
        )}
      </div>
      {error && <Alert tone="error">{errorMessage(error)}</Alert>}
      {confirm.dialog}
      <CampaignRecipientsModal
        campaign={campaign}
        open={recipientsOpen}
        onClose={() => setRecipientsOpen(false)}
      />
    </>
  );
}

export function CampaignDetailRoute() {
  const { campaignId } = useParams();
  const id = Number(campaignId);
  const campaign = useCampaign(Number.isFinite(id) ? id : null);
  const places = usePlaces();
  const [editing, setEditing] = useState(false);
  const toast = useToast();
  const archive = useArchiveCampaign();
  usePageTitle(campaign.data?.name ?? 'Campaign');
  // Arriving from the wizard's send dialog (now gone) leaves focus nowhere: it starts here.
  const heading = useRef<HTMLHeadingElement>(null);
  const loaded = campaign.data !== undefined;
  useEffect(() => {
    if (loaded && (document.activeElement === null || document.activeElement === document.body))
      heading.current?.focus();
  }, [loaded]);
  if (campaign.isError)
    return (
      <Alert tone="error" title="This campaign could not be loaded">
        {errorMessage(campaign.error)}
      </Alert>
    );
  if (campaign.isPending) return <LoadingBlock label="Loading the campaign…" />;
  const c = campaign.data;
  const meta = CAMPAIGN_TYPE_META[c.campaign_type];
  const cfg = c.messaging_config;
  // The schedule reads in the zone the owner chose it in.
  const zone =
    cfg?.scheduled_time_zone ??
    places.data?.find((p) => c.place_ids.includes(p.id))?.timezone ??
    Intl.DateTimeFormat().resolvedOptions().timeZone;
  const placeNames = c.place_ids
    .map((pid) => places.data?.find((p) => p.id === pid)?.name ?? `Place ${pid}`)
    .join(', ');
  return (
    <div className="space-y-6">
      <div>
        <Link to="/campaigns" className="text-sm text-teal-800 hover:underline">
          ← Campaigns
        </Link>
        <div className="mt-1 flex flex-wrap items-center gap-3">
          <CampaignTypeIcon type={c.campaign_type} />
          <h1 ref={heading} tabIndex={-1} className="text-2xl font-bold text-slate-900">
            {c.name}
          </h1>
          <StatusBadge status={c.status} />
          {c.archived_at && <Badge>Archived</Badge>}
          {/* A live campaign is cancelled before it can be archived. */}
          {(c.archived_at || !c.can_cancel) && (
            <Button
              variant="ghost"
              size="sm"
              loading={archive.isPending}
              onClick={() =>
                archive.mutate(
                  { id: c.id, archived: !c.archived_at },
                  {
                    onSuccess: (saved) =>
                      toast.notify(saved.archived_at ? 'Campaign archived.' : 'Campaign restored.'),
                  },
                )
              }
            >
              {c.archived_at ? 'Unarchive' : 'Archive'}
            </Button>
          )}
        </div>
        {archive.error && <Alert tone="error">{errorMessage(archive.error)}</Alert>}
        <p className="mt-1 text-sm text-slate-700">
          {meta.label}
          {describeOffer(c) ? ` · ${describeOffer(c)}` : ''} · {placeNames}
        </p>
        {c.description && <p className="mt-1 text-sm text-slate-700">{c.description}</p>}
        {cfg && (
          <p className="mt-1 text-sm text-slate-700">
            {cfg.channels.map((ch) => (ch === 'email' ? 'Email' : 'WhatsApp')).join(' + ')}
            {cfg.scheduled_send_time && !cfg.send_immediately && c.status === 'scheduled' ? (
              <>
                {' · scheduled for '}
                <span data-testid="scheduled-for">
                  {formatDateTime(cfg.scheduled_send_time, zone)} ({zone})
                </span>
              </>
            ) : (
              ''
            )}
          </p>
        )}
      </div>
      {c.campaign_type === 'messaging' ? (
        <>
          <MessagingActions campaign={c} />
          <CampaignStats campaignId={c.id} />
        </>
      ) : (
        <>
          <Button variant="secondary" onClick={() => setEditing(true)}>
            Edit
          </Button>
          {editing && (
            <CampaignForm
              open
              type={c.campaign_type}
              campaign={c}
              onClose={() => setEditing(false)}
              onSaved={() => {
                setEditing(false);
                toast.notify('Campaign saved.');
              }}
            />
          )}
        </>
      )}
      <CampaignTimeline campaignId={c.id} timeZone={zone} live={c.can_cancel} />
    </div>
  );
}
