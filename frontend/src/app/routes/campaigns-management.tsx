import { useId, useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';

import { errorMessage } from '@/api/client';
import { Alert } from '@/components/ui/alert';
import { Badge, StatusBadge, statusLabel } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { useConfirm } from '@/components/ui/confirm-dialog';
import { EmptyState } from '@/components/ui/empty-state';
import { selectClass } from '@/components/ui/field';
import { PaginationBar } from '@/components/ui/pagination';
import { LoadingBlock } from '@/components/ui/spinner';
import { useToast } from '@/components/ui/toast';
import { useArchiveCampaign } from '@/features/campaigns/api/archive-campaign';
import { useCampaigns } from '@/features/campaigns/api/get-campaigns';
import { usePlaces } from '@/features/campaigns/api/get-places';
import { useDeleteCampaign } from '@/features/campaigns/api/delete-campaign';
import { CampaignForm } from '@/features/campaigns/components/campaign-form';
import {
  CAMPAIGN_TYPE_META,
  CampaignTypeIcon,
  describeOffer,
} from '@/features/campaigns/components/campaign-type';
import { CampaignTypePicker } from '@/features/campaigns/components/campaign-type-picker';
import { CampaignRecipientsModal } from '@/features/messaging/components/campaign-recipients-modal';
import { InlineMessagingStats } from '@/features/messaging/components/campaign-stats';
import { formatDate } from '@/lib/format';
import { usePageTitle } from '@/lib/use-page-title';
import {
  CAMPAIGN_STATUSES,
  CAMPAIGN_TYPES,
  type Campaign,
  type CampaignStatus,
  type CampaignType,
} from '@/types/campaign';

/** The owner's campaigns of all four types; messaging ones show their stats inline. */
export function CampaignsManagement() {
  usePageTitle('Campaigns');
  const ids = useId();
  const navigate = useNavigate();
  const toast = useToast();
  const [params, setParams] = useSearchParams();
  const page = Math.max(1, Number(params.get('page') ?? 1) || 1);
  const type = (params.get('type') as CampaignType | null) || null;
  const status = (params.get('status') as CampaignStatus | null) || null;
  const archived = params.get('archived') === 'true';
  const campaigns = useCampaigns({ page, campaign_type: type, status, archived });
  const places = usePlaces();
  const remove = useDeleteCampaign();
  const confirm = useConfirm();
  const archive = useArchiveCampaign();
  const filtered = Boolean(type || status || archived);
  const [picking, setPicking] = useState(false);
  const [offerForm, setOfferForm] = useState<{
    type: Exclude<CampaignType, 'messaging'>;
    campaign?: Campaign;
  } | null>(null);
  const [recipientsOf, setRecipientsOf] = useState<Campaign | null>(null);

  const setParam = (key: string, value: string | null) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    if (key !== 'page') next.delete('page');
    setParams(next);
  };
  const placeName = (id: number) => places.data?.find((p) => p.id === id)?.name ?? `Place ${id}`;

  const edit = (campaign: Campaign) => {
    if (campaign.campaign_type === 'messaging')
      void navigate(`/campaigns/${campaign.id}/edit?step=1`);
    else setOfferForm({ type: campaign.campaign_type, campaign });
  };

  return (
    <div className="space-y-6">
      {confirm.dialog}
      <div className="flex flex-wrap items-center justify-between gap-3">
        <div>
          <h1 className="text-2xl font-bold text-slate-900">Campaigns</h1>
          <p className="text-sm text-slate-700">Offers and messages that bring customers back.</p>
        </div>
        <Button onClick={() => setPicking(true)}>New campaign</Button>
      </div>

      <div className="flex flex-wrap gap-3">
        <div>
          <label htmlFor={`${ids}-type`} className="mb-1 block text-sm font-medium">
            Type
          </label>
          <select
            id={`${ids}-type`}
            className={selectClass}
            value={type ?? ''}
            onChange={(e) => setParam('type', e.target.value || null)}
          >
            <option value="">All types</option>
            {CAMPAIGN_TYPES.map((t) => (
              <option key={t} value={t}>
                {CAMPAIGN_TYPE_META[t].label}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor={`${ids}-status`} className="mb-1 block text-sm font-medium">
            Status
          </label>
          <select
            id={`${ids}-status`}
            className={selectClass}
            value={status ?? ''}
            onChange={(e) => setParam('status', e.target.value || null)}
          >
            <option value="">All statuses</option>
            {CAMPAIGN_STATUSES.map((s) => (
              <option key={s} value={s}>
                {statusLabel(s)}
              </option>
            ))}
          </select>
        </div>
        <label className="flex items-end gap-2 pb-2 text-sm font-medium">
          <input
            type="checkbox"
            checked={archived}
            onChange={(e) => setParam('archived', e.target.checked ? 'true' : null)}
          />
          Archived only
        </label>
      </div>

      {(remove.error ?? archive.error) && (
        <Alert tone="error">{errorMessage(remove.error ?? archive.error)}</Alert>
      )}
      {campaigns.isError ? (
        <Alert tone="error" title="Your campaigns could not be loaded">
          {errorMessage(campaigns.error)}
        </Alert>
      ) : campaigns.isPending ? (
        <LoadingBlock label="Loading campaigns…" />
      ) : campaigns.data.items.length === 0 ? (
        <EmptyState
          title={filtered ? 'No campaign matches these filters' : 'No campaigns yet'}
          action={
            !filtered && (
              <Button onClick={() => setPicking(true)}>Create your first campaign</Button>
            )
          }
        >
          {filtered ? 'Try other filters.' : 'Message your customers or offer them a deal.'}
        </EmptyState>
      ) : (
        <ul className="space-y-3" aria-label="Campaigns">
          {campaigns.data.items.map((c) => {
            const meta = CAMPAIGN_TYPE_META[c.campaign_type];
            const messaging = c.campaign_type === 'messaging';
            // A messaging campaign is edited in the wizard, which ends in a send.
            const editable = messaging ? c.can_send : c.can_edit;
            return (
              <li
                key={c.id}
                className={`flex flex-col gap-3 rounded-lg border border-l-4 border-slate-200 bg-white p-4 shadow-sm md:flex-row md:items-center ${meta.accent}`}
                data-testid="campaign-row"
              >
                <div className="flex min-w-0 flex-1 items-start gap-3">
                  <CampaignTypeIcon type={c.campaign_type} />
                  <div className="min-w-0">
                    <h2 className="flex flex-wrap items-center gap-2 font-semibold text-slate-900">
                      <Link to={`/campaigns/${c.id}`} className="hover:underline">
                        {c.name}
                      </Link>
                      <StatusBadge status={c.status} />
                      {c.archived_at && <Badge>Archived</Badge>}
                    </h2>
                    <p className="text-sm text-slate-700">
                      <span className={messaging ? 'font-medium text-teal-800' : ''}>
                        {meta.label}
                      </span>
                      {describeOffer(c) ? ` · ${describeOffer(c)}` : ''}
                      {' · '}
                      {c.place_ids.map(placeName).join(', ')}
                    </p>
                    <p className="text-xs text-slate-600">Created {formatDate(c.created_at)}</p>
                  </div>
                </div>
                {messaging && <InlineMessagingStats campaignId={c.id} />}
                <div className="flex flex-wrap gap-2">
                  {messaging && (
                    <Button variant="secondary" size="sm" onClick={() => setRecipientsOf(c)}>
                      View recipients
                    </Button>
                  )}
                  {messaging && (
                    <Button
                      variant="secondary"
                      size="sm"
                      onClick={() => void navigate(`/campaigns/${c.id}`)}
                    >
                      Stats
                    </Button>
                  )}
                  {editable && (
                    <Button variant="secondary" size="sm" onClick={() => edit(c)}>
                      {messaging && c.status === 'draft' ? 'Continue' : 'Edit'}
                    </Button>
                  )}
                  {c.can_delete ? (
                    <Button
                      variant="ghost"
                      size="sm"
                      aria-label={`Delete ${c.name}`}
                      onClick={() =>
                        void confirm
                          .ask({
                            title: `Delete “${c.name}”?`,
                            body: 'It has sent nothing; deleting it cannot be undone.',
                            confirm: 'Delete',
                            danger: true,
                          })
                          .then((yes) => {
                            if (yes)
                              remove.mutate(c.id, {
                                onSuccess: () => toast.notify('Campaign deleted.'),
                              });
                          })
                      }
                    >
                      Delete
                    </Button>
                  ) : c.archived_at ? (
                    <Button
                      variant="ghost"
                      size="sm"
                      aria-label={`Unarchive ${c.name}`}
                      onClick={() =>
                        archive.mutate(
                          { id: c.id, archived: false },
                          { onSuccess: () => toast.notify('Campaign restored.') },
                        )
                      }
                    >
                      Unarchive
                    </Button>
                  ) : (
                    // A live campaign is cancelled before it can be archived.
                    !c.can_cancel && (
                      <Button
                        variant="ghost"
                        size="sm"
                        aria-label={`Archive ${c.name}`}
                        title="It has sent messages, so it is kept as a record: archiving hides it from this list."
                        onClick={() =>
                          archive.mutate(
                            { id: c.id, archived: true },
                            {
                              onSuccess: () =>
                                toast.notify('Campaign archived. Tick “Archived only” to see it.'),
                            },
                          )
                        }
                      >
                        Archive
                      </Button>
                    )
                  )}
                </div>
              </li>
            );
          })}
        </ul>
      )}
      {campaigns.data && campaigns.data.items.length > 0 && (
        <PaginationBar
          page={page}
          maxPage={campaigns.data.pagination.max_page}
          totalCount={campaigns.data.pagination.total_count}
          onPage={(p) => setParam('page', String(p))}
          label="campaigns"
          busy={campaigns.isFetching}
        />
      )}

      <CampaignTypePicker
        open={picking}
        onClose={() => setPicking(false)}
        onPick={(t) => {
          setPicking(false);
          if (t === 'messaging') void navigate('/campaigns/new/messaging');
          else setOfferForm({ type: t });
        }}
      />
      {offerForm && (
        <CampaignForm
          key={`${offerForm.type}-${offerForm.campaign?.id ?? 'new'}`}
          open
          type={offerForm.type}
          campaign={offerForm.campaign}
          onClose={() => setOfferForm(null)}
          onSaved={(saved) => {
            setOfferForm(null);
            toast.notify(`“${saved.name}” saved.`);
          }}
        />
      )}
      {recipientsOf && (
        <CampaignRecipientsModal
          campaign={recipientsOf}
          open
          onClose={() => setRecipientsOf(null)}
        />
      )}
    </div>
  );
}
