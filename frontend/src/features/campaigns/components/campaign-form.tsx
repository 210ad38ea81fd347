import { zodResolver } from '@hookform/resolvers/zod';
import { Controller, useForm } from 'react-hook-form';
import * as z from 'zod/mini';

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

interface Props {
  type: OfferType;
  campaign?: Campaign;
  open: boolean;
  onClose: () => void;
  onSaved: (campaign: Campaign) => void;
}

const OWNER_STATUSES = ['draft', 'active', 'paused', 'ended'] as const satisfies CampaignStatus[];

const isWhole = (v: string, min: number, max: number) => {
  const n = Number(v);
  return v.trim() !== '' && Number.isInteger(n) && n >= min && n <= max;
};

type Rule = [
  key: string,
  ok: (value: string, all: Record<string, string>) => boolean,
  error: string,
];

// What each offer's settings must be, as the owner types them (the API checks them again).
const CONFIG_RULES: Record<OfferType, Rule[]> = {
  price_reduction: [
    ['discount_percent', (v) => isWhole(v, 1, 90), 'Enter a whole percentage from 1 to 90.'],
    [
      'valid_until',
      (v, c) => !(c.valid_from && v && v < c.valid_from),
      'The end date must not be before the start date.',
    ],
  ],
  rewards_increase: [
    [
      'points_multiplier',
      (v) => v.trim() !== '' && Number(v) > 1 && Number(v) <= 10,
      'Enter a multiplier above 1 and at most 10.',
    ],
  ],
  free_service: [
    ['service_name', (v) => v.trim() !== '', 'Name the free service.'],
    ['after_bookings', (v) => isWhole(v, 1, 100), 'Enter a number of bookings from 1 to 100.'],
  ],
};

const formSchema = (type: OfferType) =>
  z.object({
    name: z.string().check(z.refine((v) => v.trim() !== '', 'Give the campaign a name.')),
    description: z.string(),
    place_ids: z.array(z.number()).check(z.minLength(1, 'Choose at least one place.')),
    status: z.enum(OWNER_STATUSES),
    config: z.record(z.string(), z.string()).check(
      z.superRefine((config, ctx) => {
        for (const [key, ok, message] of CONFIG_RULES[type])
          if (!ok(config[key] ?? '', config))
            ctx.addIssue({ code: 'custom', message, path: [key] });
      }),
    ),
  });

type OfferValues = z.infer<ReturnType<typeof formSchema>>;

function initialValues(type: OfferType, campaign?: Campaign): OfferValues {
  const c = campaign?.config ?? {};
  const s = (v: unknown, fallback = '') => (v === undefined || v === null ? fallback : String(v));
  const config: Record<string, string> =
    type === 'price_reduction'
      ? {
          discount_percent: s(c.discount_percent, '10'),
          valid_from: s(c.valid_from),
          valid_until: s(c.valid_until),
        }
      : type === 'rewards_increase'
        ? { points_multiplier: s(c.points_multiplier, '2') }
        : { service_name: s(c.service_name), after_bookings: s(c.after_bookings, '5') };
  const status = OWNER_STATUSES.find((st) => st === campaign?.status) ?? 'draft';
  return {
    name: campaign?.name ?? '',
    description: campaign?.description ?? '',
    place_ids: campaign?.place_ids ?? [],
    status,
    config,
  };
}

/** The offer's settings as the API takes them (numbers as numbers, empty dates left out). */
function configForApi(type: OfferType, v: Record<string, string>) {
  if (type === 'price_reduction')
    return {
      discount_percent: Number(v.discount_percent),
      ...(v.valid_from ? { valid_from: v.valid_from } : {}),
      ...(v.valid_until ? { valid_until: v.valid_until } : {}),
    };
  if (type === 'rewards_increase') return { points_multiplier: Number(v.points_multiplier) };
  return { service_name: v.service_name?.trim() ?? '', after_bookings: Number(v.after_bookings) };
}

/** Create or edit a price reduction, rewards increase or free service campaign. */
export function CampaignForm({ type, campaign, open, onClose, onSaved }: Props) {
  const places = usePlaces();
  const create = useCreateCampaign();
  const update = useUpdateCampaign();
  const meta = CAMPAIGN_TYPE_META[type];
  const mutation = campaign ? update : create;
  const {
    register,
    control,
    handleSubmit,
    setError,
    getValues,
    formState: { errors },
  } = useForm<OfferValues>({
    resolver: zodResolver(formSchema(type)),
    defaultValues: initialValues(type, campaign),
  });

  // The API names fields by their path (`config.discount_percent`); show each beside its box.
  const onError = (error: unknown) => {
    if (!(error instanceof ApiError)) return;
    const configKeys = Object.keys(getValues('config'));
    for (const e of error.fieldErrors) {
      const key = e.field.split('.').pop() ?? e.field;
      if (key === 'name' || key === 'description' || key === 'place_ids')
        setError(key, { message: e.message });
      else if (configKeys.includes(key)) setError(`config.${key}`, { message: e.message });
    }
  };

  const submit = handleSubmit((values) => {
    const common = {
      name: values.name.trim(),
      description: values.description || null,
      place_ids: values.place_ids,
      config: configForApi(type, values.config),
    };
    if (campaign)
      update.mutate(
        { id: campaign.id, data: { ...common, status: values.status } },
        { onSuccess: onSaved, onError },
      );
    else create.mutate({ ...common, campaign_type: type }, { onSuccess: onSaved, onError });
  });

  const configError = (key: string) =>
    (errors.config as Record<string, { message?: string } | undefined> | undefined)?.[key]?.message;
  const field = (key: string, label: string, props: Record<string, unknown> = {}) => (
    <InputField label={label} {...register(`config.${key}`)} error={configError(key)} {...props} />
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
      <form
        id="campaign-form"
        onSubmit={(event) => void submit(event)}
        noValidate
        className="space-y-4"
      >
        {mutation.error &&
          !(mutation.error instanceof ApiError && mutation.error.fieldErrors.length) && (
            <Alert tone="error">{errorMessage(mutation.error)}</Alert>
          )}
        <InputField label="Name" {...register('name')} error={errors.name?.message} />
        <TextareaField
          label="Description (optional)"
          rows={2}
          {...register('description')}
          error={errors.description?.message}
        />
        <Controller
          control={control}
          name="place_ids"
          render={({ field: { value, onChange }, fieldState }) => (
            <fieldset>
              <legend className="mb-1 text-sm font-medium text-slate-800">Places</legend>
              <div className="grid gap-2 sm:grid-cols-2">
                {places.data?.map((p) => (
                  <label key={p.id} className="flex items-center gap-2 text-sm">
                    <input
                      type="checkbox"
                      className="h-4 w-4 accent-teal-700"
                      checked={value.includes(p.id)}
                      onChange={(e) =>
                        onChange(
                          e.target.checked ? [...value, p.id] : value.filter((i) => i !== p.id),
                        )
                      }
                    />
                    {p.name}
                  </label>
                ))}
              </div>
              {fieldState.error && (
                <p className="mt-1 text-sm text-red-700">{fieldState.error.message}</p>
              )}
            </fieldset>
          )}
        />
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
            <select id="campaign-status" className={selectClass} {...register('status')}>
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
