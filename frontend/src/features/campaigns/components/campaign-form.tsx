import { useState, type FormEvent } from 'react';

import { ApiError, errorMessage } from '@/api/client';
import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { InputField, selectClass, TextareaField } from '@/components/ui/field';
import { Modal } from '@/components/ui/modal';
import type { Campaign, CampaignStatus, CampaignType } from '@/types/campaign';

import { useCreateCampaign } from '../api/create-campaign';
import { usePlaces } from '../api/get-places';
import { useUpdateCampaign } from '../api/update-campaign';
import { CAMPAIGN_TYPE_META } from './campaign-type';

type OfferType = Exclude<CampaignType, 'messaging'>;
type Errors = Partial<Record<string, string>>;

interface Props {
  type: OfferType;
  campaign?: Campaign;
  open: boolean;
  onClose: () => void;
  onSaved: (campaign: Campaign) => void;
}

const OWNER_STATUSES: CampaignStatus[] = ['draft', 'active', 'paused', 'ended'];

function initialConfig(type: OfferType, campaign?: Campaign): Record<string, string> {
  const c = (campaign?.config ?? {}) as Record<string, unknown>;
  const s = (v: unknown, fallback = '') => (v === undefined || v === null ? fallback : String(v));
  if (type === 'price_reduction')
    return {
      discount_percent: s(c.discount_percent, '10'),
      valid_from: s(c.valid_from),
      valid_until: s(c.valid_until),
    };
  if (type === 'rewards_increase') return { points_multiplier: s(c.points_multiplier, '2') };
  return { service_name: s(c.service_name), after_bookings: s(c.after_bookings, '5') };
}

function buildConfig(type: OfferType, values: Record<string, string>, errors: Errors) {
  if (type === 'price_reduction') {
    const percent = Number(values.discount_percent);
    if (!Number.isInteger(percent) || percent < 1 || percent > 90)
      errors.discount_percent = 'Enter a whole percentage from 1 to 90.';
    if (values.valid_from && values.valid_until && values.valid_until < values.valid_from)
      errors.valid_until = 'The end date must not be before the start date.';
    return {
      discount_percent: percent,
      ...(values.valid_from ? { valid_from: values.valid_from } : {}),
      ...(values.valid_until ? { valid_until: values.valid_until } : {}),
    };
  }
  if (type === 'rewards_increase') {
    const multiplier = Number(values.points_multiplier);
    if (!(multiplier > 1 && multiplier <= 10))
      errors.points_multiplier = 'Enter a multiplier above 1 and at most 10.';
    return { points_multiplier: multiplier };
  }
  const after = Number(values.after_bookings);
  if (!values.service_name?.trim()) errors.service_name = 'Name the free service.';
  if (!Number.isInteger(after) || after < 1 || after > 100)
    errors.after_bookings = 'Enter a number of bookings from 1 to 100.';
  return { service_name: values.service_name?.trim() ?? '', after_bookings: after };
}

/** Create or edit a price reduction, rewards increase or free service campaign. */
export function CampaignForm({ type, campaign, open, onClose, onSaved }: Props) {
  const places = usePlaces();
  const create = useCreateCampaign();
  const update = useUpdateCampaign();
  const [name, setName] = useState(campaign?.name ?? '');
  const [description, setDescription] = useState(campaign?.description ?? '');
  const [placeIds, setPlaceIds] = useState<number[]>(campaign?.place_ids ?? []);
  const [status, setStatus] = useState<CampaignStatus>(campaign?.status ?? 'draft');
  const [values, setValues] = useState(() => initialConfig(type, campaign));
  const [errors, setErrors] = useState<Errors>({});
  const meta = CAMPAIGN_TYPE_META[type];
  const mutation = campaign ? update : create;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const next: Errors = {};
    if (!name.trim()) next.name = 'Give the campaign a name.';
    if (placeIds.length === 0) next.place_ids = 'Choose at least one place.';
    const config = buildConfig(type, values, next);
    setErrors(next);
    if (Object.keys(next).length) return;
    const onError = (error: unknown) => {
      if (error instanceof ApiError && error.fieldErrors.length) {
        const fieldErrors: Errors = {};
        for (const e of error.fieldErrors)
          fieldErrors[e.field.split('.').pop() ?? e.field] = e.message;
        setErrors(fieldErrors);
      }
    };
    if (campaign) {
      update.mutate(
        {
          id: campaign.id,
          data: {
            name: name.trim(),
            description: description || null,
            place_ids: placeIds,
            status,
            config,
          },
        },
        { onSuccess: onSaved, onError },
      );
    } else {
      create.mutate(
        {
          name: name.trim(),
          description: description || null,
          campaign_type: type,
          place_ids: placeIds,
          config,
        },
        { onSuccess: onSaved, onError },
      );
    }
  };

  const field = (key: string, label: string, props: Record<string, unknown> = {}) => (
    <InputField
      label={label}
      value={values[key] ?? ''}
      onChange={(e) => setValues((v) => ({ ...v, [key]: e.target.value }))}
      error={errors[key]}
      {...props}
    />
  );

  return (
    <Modal
      open={open}
      onClose={onClose}
      title={`${campaign ? 'Edit' : 'New'} ${meta.label.toLowerCase()} campaign`}
      footer={
        <>
          <Button variant="secondary" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" form="campaign-form" loading={mutation.isPending}>
            {campaign ? 'Save' : 'Create campaign'}
          </Button>
        </>
      }
    >
      <form id="campaign-form" onSubmit={submit} noValidate className="space-y-4">
        {mutation.error &&
          !(mutation.error instanceof ApiError && mutation.error.fieldErrors.length) && (
            <Alert tone="error">{errorMessage(mutation.error)}</Alert>
          )}
        <InputField
          label="Name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          error={errors.name}
        />
        <TextareaField
          label="Description (optional)"
          rows={2}
          value={description}
          onChange={(e) => setDescription(e.target.value)}
          error={errors.description}
        />
        <fieldset>
          <legend className="mb-1 text-sm font-medium text-slate-800">Places</legend>
          <div className="grid gap-2 sm:grid-cols-2">
            {places.data?.map((p) => (
              <label key={p.id} className="flex items-center gap-2 text-sm">
                <input
                  type="checkbox"
                  className="h-4 w-4 accent-teal-700"
                  checked={placeIds.includes(p.id)}
                  onChange={(e) =>
                    setPlaceIds((ids) =>
                      e.target.checked ? [...ids, p.id] : ids.filter((i) => i !== p.id),
                    )
                  }
                />
                {p.name}
              </label>
            ))}
          </div>
          {errors.place_ids && <p className="mt-1 text-sm text-red-700">{errors.place_ids}</p>}
        </fieldset>
        {type === 'price_reduction' && (
          <div className="grid gap-3 sm:grid-cols-3">
            {field('discount_percent', 'Discount (%)', { type: 'number', min: 1, max: 90 })}
            {field('valid_from', 'Valid from', { type: 'date' })}
            {field('valid_until', 'Valid until', { type: 'date' })}
          </div>
        )}
        {type === 'rewards_increase' &&
          field('points_multiplier', 'Points multiplier', {
            type: 'number',
            step: 0.5,
            min: 1.5,
            max: 10,
          })}
        {type === 'free_service' && (
          <div className="grid gap-3 sm:grid-cols-2">
            {field('service_name', 'Free service')}
            {field('after_bookings', 'After how many bookings', {
              type: 'number',
              min: 1,
              max: 100,
            })}
          </div>
        )}
        {campaign && (
          <div>
            <label htmlFor="campaign-status" className="mb-1 block text-sm font-medium">
              Status
            </label>
            <select
              id="campaign-status"
              className={selectClass}
              value={status}
              onChange={(e) => setStatus(e.target.value as CampaignStatus)}
            >
              {OWNER_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s.charAt(0).toUpperCase() + s.slice(1)}
                </option>
              ))}
            </select>
          </div>
        )}
      </form>
    </Modal>
  );
}
