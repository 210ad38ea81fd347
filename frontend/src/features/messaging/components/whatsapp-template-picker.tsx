import { useId } from 'react';

import { errorMessage } from '@/api/client';
import { Alert } from '@/components/ui/alert';
import { Badge, type BadgeTone } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { FieldError, inputClass, selectClass } from '@/components/ui/field';
import { Spinner } from '@/components/ui/spinner';
import { formatDateTime } from '@/lib/format';
import { TEMPLATE_VARIABLES, type WhatsAppTemplate } from '@/types/campaign';

import { useRefreshWhatsAppTemplates, useWhatsAppTemplates } from '../api/get-whatsapp-templates';
import {
  placeholdersFor,
  setPlaceholderKind,
  type PlaceholderKind,
  type TemplateVariable,
  type WizardErrors,
} from '../lib/wizard';

const STATUS: Record<string, { label: string; tone: BadgeTone }> = {
  approved: { label: 'Approved', tone: 'green' },
  pending: { label: 'In review', tone: 'amber' },
  received: { label: 'In review', tone: 'amber' },
  rejected: { label: 'Rejected', tone: 'red' },
  paused: { label: 'Paused by Meta', tone: 'red' },
  disabled: { label: 'Disabled by Meta', tone: 'red' },
  unsubmitted: { label: 'Not submitted', tone: 'slate' },
};

export function statusOf(template: WhatsAppTemplate) {
  return STATUS[template.status] ?? { label: template.status, tone: 'slate' as const };
}

/** A template's text with each `{{n}}` shown as a highlighted placeholder. */
function TemplateBody({ body }: { body: string }) {
  const parts = body.split(/(\{\{\s*\d+\s*\}\})/);
  return (
    <p className="whitespace-pre-wrap break-words text-sm text-slate-900">
      {parts.map((part, i) =>
        /^\{\{\s*\d+\s*\}\}$/.test(part) ? (
          <mark key={i} className="rounded bg-amber-100 px-0.5 font-mono text-amber-950">
            {part.replace(/\s/g, '')}
          </mark>
        ) : (
          <span key={i}>{part}</span>
        ),
      )}
    </p>
  );
}

interface Props {
  sid: string;
  variables: TemplateVariable[];
  errors: WizardErrors;
  onChange: (patch: { whatsappSid?: string; whatsappVariables?: TemplateVariable[] }) => void;
}

/** The account's approved templates by name, the chosen one's text, and what fills each of
 * its placeholders; templates that cannot be sent are listed with the reason. */
export function WhatsAppTemplatePicker({ sid, variables, errors, onChange }: Props) {
  const ids = useId();
  const list = useWhatsAppTemplates();
  const refresh = useRefreshWhatsAppTemplates();
  const templates = list.data?.items ?? [];
  const sendable = templates.filter((t) => t.can_send);
  const unavailable = templates.filter((t) => !t.can_send);
  const chosen = templates.find((t) => t.content_sid === sid);

  const pick = (contentSid: string) => {
    const template = templates.find((t) => t.content_sid === contentSid);
    onChange({
      whatsappSid: contentSid,
      whatsappVariables: template ? placeholdersFor(template.placeholders, variables) : [],
    });
  };
  const setVariable = (index: number, next: TemplateVariable) =>
    onChange({ whatsappVariables: variables.map((v, i) => (i === index ? next : v)) });

  if (list.isPending) return <Spinner label="Loading your WhatsApp templates" />;
  if (list.isError) return <Alert tone="error">{errorMessage(list.error)}</Alert>;

  return (
    <div className="space-y-3">
      <div className="flex flex-wrap items-end gap-2">
        <div className="min-w-0 flex-1">
          <label htmlFor={`${ids}-template`} className="mb-1 block text-sm font-medium">
            Template
          </label>
          <select
            id={`${ids}-template`}
            className={`${selectClass} w-full`}
            value={chosen?.can_send ? sid : sid ? 'unavailable' : ''}
            onChange={(e) => pick(e.target.value)}
            aria-invalid={errors.whatsappSid ? true : undefined}
            aria-describedby={errors.whatsappSid ? `${ids}-template-error` : undefined}
          >
            <option value="">Choose an approved template…</option>
            {sid && !chosen?.can_send && (
              <option value="unavailable" disabled>
                {chosen
                  ? `${chosen.name} (${statusOf(chosen).label})`
                  : 'A template no longer listed'}
              </option>
            )}
            {sendable.map((t) => (
              <option key={t.content_sid} value={t.content_sid}>
                {t.name}
              </option>
            ))}
          </select>
        </div>
        <Button
          variant="secondary"
          size="sm"
          loading={refresh.isPending}
          onClick={() => refresh.mutate()}
        >
          Refresh list
        </Button>
      </div>
      <FieldError id={`${ids}-template-error`} message={errors.whatsappSid} />
      {refresh.isError && <Alert tone="error">{errorMessage(refresh.error)}</Alert>}
      {list.data.stale_reason && (
        <Alert tone="warning">
          {list.data.stale_reason} The list below is the one read{' '}
          {formatDateTime(list.data.refreshed_at)}.
        </Alert>
      )}
      {templates.length === 0 && (
        <Alert tone="warning">
          Your WhatsApp account has no templates yet. Create one in Twilio’s Content Template
          Builder and submit it to WhatsApp; once approved it appears here.
        </Alert>
      )}

      {chosen && (
        <section
          aria-label={`Template ${chosen.name}`}
          className="space-y-3 rounded-md border border-slate-200 bg-slate-50 p-3"
        >
          <p className="flex flex-wrap items-center gap-2 text-sm">
            <strong>{chosen.name}</strong>
            <Badge tone={statusOf(chosen).tone}>{statusOf(chosen).label}</Badge>
            <Badge tone="sky">{chosen.category}</Badge>
            {chosen.language && <Badge>{chosen.language}</Badge>}
          </p>
          {chosen.problem && <Alert tone="warning">{chosen.problem}</Alert>}
          <TemplateBody body={chosen.body} />
          {chosen.buttons.length > 0 && (
            <p className="text-xs text-slate-600">Buttons: {chosen.buttons.join(' · ')}</p>
          )}
          {variables.length > 0 && (
            <fieldset className="space-y-2">
              <legend className="text-sm font-medium">Fill in the placeholders</legend>
              {variables.map((variable, index) => {
                const error = errors[`whatsappVariables.${index}`];
                const sample = chosen.sample_values[variable.key];
                const placeholder = `{{${variable.key}}}`;
                return (
                  <div key={variable.key} className="grid gap-2 sm:grid-cols-[4rem_1fr_1fr]">
                    <label
                      htmlFor={`${ids}-kind-${variable.key}`}
                      className="self-center font-mono text-sm"
                    >
                      {placeholder}
                    </label>
                    <select
                      id={`${ids}-kind-${variable.key}`}
                      className={selectClass}
                      value={variable.kind}
                      onChange={(e) =>
                        setVariable(
                          index,
                          setPlaceholderKind(variable, e.target.value as PlaceholderKind),
                        )
                      }
                      aria-invalid={error ? true : undefined}
                      aria-describedby={`${ids}-sample-${variable.key}`}
                    >
                      <option value="">Choose…</option>
                      {TEMPLATE_VARIABLES.map((v) => (
                        <option key={v.name} value={v.name}>
                          {v.label}
                        </option>
                      ))}
                      <option value="text">A text I write</option>
                    </select>
                    {variable.kind === 'text' ? (
                      <>
                        <label className="sr-only" htmlFor={`${ids}-text-${variable.key}`}>
                          Text for {placeholder}
                        </label>
                        <input
                          id={`${ids}-text-${variable.key}`}
                          className={inputClass}
                          value={variable.value}
                          onChange={(e) =>
                            setVariable(index, { ...variable, value: e.target.value })
                          }
                          placeholder={sample ?? ''}
                        />
                      </>
                    ) : (
                      <span />
                    )}
                    <p
                      id={`${ids}-sample-${variable.key}`}
                      className="text-xs text-slate-600 sm:col-span-3 sm:pl-[4.5rem]"
                    >
                      {sample ? `WhatsApp’s sample: “${sample}”` : 'No sample value'}
                    </p>
                    {error && (
                      <p className="text-sm text-red-700 sm:col-span-3 sm:pl-[4.5rem]">{error}</p>
                    )}
                  </div>
                );
              })}
            </fieldset>
          )}
        </section>
      )}

      {unavailable.length > 0 && (
        <details className="rounded-md border border-slate-200 p-3 text-sm">
          <summary className="cursor-pointer font-medium">
            {unavailable.length} template{unavailable.length === 1 ? '' : 's'} you cannot send yet
          </summary>
          <ul className="mt-2 space-y-2">
            {unavailable.map((t) => (
              <li key={t.content_sid}>
                <span className="flex flex-wrap items-center gap-2">
                  <strong>{t.name}</strong>
                  <Badge tone={statusOf(t).tone}>{statusOf(t).label}</Badge>
                </span>
                <span className="block text-slate-700">{t.problem}</span>
              </li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}
