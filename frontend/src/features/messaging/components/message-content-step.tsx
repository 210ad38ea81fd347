import { lazy, Suspense, useId, useRef, useState } from 'react';

import { errorMessage } from '@/api/client';
import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { FieldError, inputClass, selectClass } from '@/components/ui/field';
import { ChatIcon, EnvelopeIcon } from '@/components/ui/icons';
import { Spinner } from '@/components/ui/spinner';
import { formatNumber } from '@/lib/format';
import { WHATSAPP_MAX_CHARS, type Campaign } from '@/types/campaign';

import { useCampaignRecipients } from '../api/get-campaign-recipients';
import { useCampaignPreview } from '../api/preview-campaign';
import { whatsappLength, type WizardErrors, type WizardState } from '../lib/wizard';
import type { EmailBodyEditorHandle } from './email-body-editor';
import { EmailPreviewFrame } from './email-preview-frame';
import { insertAtCaret, VariableButtons } from './variable-buttons';

const EmailBodyEditor = lazy(() => import('./email-body-editor'));

interface Props {
  campaign: Campaign;
  state: WizardState;
  update: (patch: Partial<WizardState>) => void;
  errors: WizardErrors;
}

export function WhatsAppCounter({ length, id }: { length: number; id: string }) {
  const over = length > WHATSAPP_MAX_CHARS;
  return (
    <p
      id={id}
      className={`text-right text-xs ${over ? 'font-semibold text-red-700' : 'text-slate-600'}`}
    >
      <span data-testid="whatsapp-counter">
        {formatNumber(length)} / {formatNumber(WHATSAPP_MAX_CHARS)}
      </span>{' '}
      characters (an emoji counts as 2, as WhatsApp counts them)
      {over && (
        <span role="alert"> — {formatNumber(length - WHATSAPP_MAX_CHARS)} over the limit</span>
      )}
    </p>
  );
}

function PreviewPanel({ campaign }: { campaign: Campaign }) {
  const [userId, setUserId] = useState<number | null>(null);
  const sampleId = useId();
  const recipients = useCampaignRecipients(campaign.id, { page: 1, limit: 20 });
  const preview = useCampaignPreview(campaign.id, userId, campaign.updated_at);
  const data = preview.data;
  return (
    <section
      aria-labelledby={`${sampleId}-title`}
      className="space-y-3 rounded-lg border border-slate-200 bg-slate-50 p-4"
    >
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h3 id={`${sampleId}-title`} className="font-semibold text-slate-900">
          Preview
        </h3>
        {preview.isFetching && <Spinner className="h-4 w-4" label="Updating preview" />}
      </div>
      <div>
        <label htmlFor={sampleId} className="mb-1 block text-sm text-slate-700">
          As received by
        </label>
        <select
          id={sampleId}
          className={`${selectClass} w-full`}
          value={userId ?? ''}
          onChange={(e) => setUserId(e.target.value ? Number(e.target.value) : null)}
        >
          <option value="">A sample customer</option>
          {recipients.data?.items.map((r) => (
            <option key={r.id} value={r.user_id}>
              {r.name}
            </option>
          ))}
        </select>
      </div>
      {preview.isError ? (
        <Alert tone="warning">{errorMessage(preview.error)}</Alert>
      ) : !data ? (
        <p className="text-sm text-slate-600">Rendering the preview…</p>
      ) : !data.email && !data.whatsapp ? (
        <p className="text-sm text-slate-600">
          Write the message; the preview shows it as {data.customer?.name ?? 'a customer'} will
          receive it.
        </p>
      ) : (
        <div className="space-y-3" data-testid="message-preview">
          {data.email && (
            <article className="rounded-md border border-slate-200 bg-white">
              <header className="flex items-center gap-2 border-b border-slate-200 px-3 py-2 text-sm">
                <EnvelopeIcon className="h-4 w-4 text-teal-700" />
                <span className="sr-only">Email subject:</span>
                <strong className="break-words">{data.email.subject}</strong>
              </header>
              <EmailPreviewFrame
                html={data.email.html}
                title={`Email to ${data.customer?.name ?? 'a customer'}`}
              />
            </article>
          )}
          {data.whatsapp && (
            <article className="rounded-md border border-emerald-200 bg-emerald-50 p-3 text-sm">
              <p className="mb-1 flex items-center gap-2 font-medium text-emerald-900">
                <ChatIcon className="h-4 w-4" /> WhatsApp
              </p>
              {data.whatsapp.text ? (
                <p className="whitespace-pre-wrap break-words">{data.whatsapp.text}</p>
              ) : (
                <p className="break-words">
                  Template {data.whatsapp.content_sid} with{' '}
                  {Object.entries(data.whatsapp.content_variables ?? {})
                    .map(([k, v]) => `{{${k}}} = “${v}”`)
                    .join(', ') || 'no variables'}
                </p>
              )}
            </article>
          )}
        </div>
      )}
    </section>
  );
}

/** Step 5: the email (subject + rich text) and the WhatsApp text or template, with a preview. */
export function MessageContentStep({ campaign, state, update, errors }: Props) {
  const ids = useId();
  const subjectRef = useRef<HTMLInputElement>(null);
  const whatsappRef = useRef<HTMLTextAreaElement>(null);
  const editorRef = useRef<EmailBodyEditorHandle>(null);
  const email = state.channels.includes('email');
  const whatsapp = state.channels.includes('whatsapp');

  const insertInto = (
    element: HTMLInputElement | HTMLTextAreaElement | null,
    key: 'emailSubject' | 'whatsappMessage',
    text: string,
  ) => {
    const { value, caret } = insertAtCaret(element, state[key], text);
    update({ [key]: value });
    requestAnimationFrame(() => {
      element?.focus();
      element?.setSelectionRange(caret, caret);
    });
  };

  return (
    <div className="grid gap-6 lg:grid-cols-[minmax(0,3fr)_minmax(0,2fr)]">
      <div className="space-y-6">
        {email && (
          <fieldset className="space-y-3 rounded-lg border border-slate-200 bg-white p-4">
            <legend className="flex items-center gap-2 px-1 font-semibold text-slate-900">
              <EnvelopeIcon className="h-5 w-5 text-teal-700" /> Email
            </legend>
            <div>
              <label htmlFor={`${ids}-subject`} className="mb-1 block text-sm font-medium">
                Subject
              </label>
              <input
                id={`${ids}-subject`}
                ref={subjectRef}
                className={inputClass}
                value={state.emailSubject}
                onChange={(e) => update({ emailSubject: e.target.value })}
                aria-invalid={errors.emailSubject ? true : undefined}
                aria-describedby={errors.emailSubject ? `${ids}-subject-error` : undefined}
                placeholder="A treat for you, {{ first_name }}"
              />
              <FieldError id={`${ids}-subject-error`} message={errors.emailSubject} />
              <div className="mt-2">
                <VariableButtons
                  target="subject"
                  onInsert={(v) => insertInto(subjectRef.current, 'emailSubject', v)}
                />
              </div>
            </div>
            <div>
              <p id={`${ids}-body-label`} className="mb-1 block text-sm font-medium">
                Message
              </p>
              <Suspense
                fallback={
                  <div className="flex h-40 items-center justify-center rounded-md border border-slate-300 bg-white">
                    <Spinner label="Loading the editor" />
                  </div>
                }
              >
                <EmailBodyEditor
                  ref={editorRef}
                  value={state.emailBody}
                  onChange={(html) => update({ emailBody: html })}
                  labelledBy={`${ids}-body-label`}
                  describedBy={errors.emailBody ? `${ids}-body-error` : undefined}
                  invalid={Boolean(errors.emailBody)}
                />
              </Suspense>
              <FieldError id={`${ids}-body-error`} message={errors.emailBody} />
              <div className="mt-2">
                <VariableButtons
                  target="email message"
                  onInsert={(v) => editorRef.current?.insertText(v)}
                />
              </div>
              <p className="mt-1 text-xs text-slate-600">
                Every email ends with an unsubscribe link, added by Rebook.
              </p>
            </div>
          </fieldset>
        )}

        {whatsapp && (
          <fieldset className="space-y-3 rounded-lg border border-slate-200 bg-white p-4">
            <legend className="flex items-center gap-2 px-1 font-semibold text-slate-900">
              <ChatIcon className="h-5 w-5 text-emerald-700" /> WhatsApp
            </legend>
            <div role="radiogroup" aria-label="WhatsApp content" className="flex flex-wrap gap-4">
              <label className="flex items-center gap-2 text-sm">
                <input
                  type="radio"
                  name={`${ids}-wa-mode`}
                  className="accent-teal-700"
                  checked={state.whatsappMode === 'text'}
                  onChange={() => update({ whatsappMode: 'text' })}
                />
                Free text
              </label>
              <label className="flex items-center gap-2 text-sm">
                <input
                  type="radio"
                  name={`${ids}-wa-mode`}
                  className="accent-teal-700"
                  checked={state.whatsappMode === 'template'}
                  onChange={() => update({ whatsappMode: 'template' })}
                />
                Approved template
              </label>
            </div>
            {state.whatsappMode === 'text' ? (
              <div>
                <label htmlFor={`${ids}-wa`} className="mb-1 block text-sm font-medium">
                  WhatsApp message
                </label>
                <textarea
                  id={`${ids}-wa`}
                  ref={whatsappRef}
                  rows={6}
                  className={inputClass}
                  value={state.whatsappMessage}
                  onChange={(e) => update({ whatsappMessage: e.target.value })}
                  aria-invalid={errors.whatsappMessage ? true : undefined}
                  aria-describedby={`${ids}-wa-count${errors.whatsappMessage ? ` ${ids}-wa-error` : ''}`}
                  placeholder="Hi {{ first_name }}! …"
                />
                <WhatsAppCounter
                  id={`${ids}-wa-count`}
                  length={whatsappLength(state.whatsappMessage)}
                />
                <FieldError id={`${ids}-wa-error`} message={errors.whatsappMessage} />
                <div className="mt-2">
                  <VariableButtons
                    target="WhatsApp message"
                    onInsert={(v) => insertInto(whatsappRef.current, 'whatsappMessage', v)}
                  />
                </div>
                <p className="mt-1 text-xs text-slate-600">
                  Outside a 24-hour conversation WhatsApp only delivers approved templates.
                </p>
              </div>
            ) : (
              <div className="space-y-3">
                <div>
                  <label htmlFor={`${ids}-sid`} className="mb-1 block text-sm font-medium">
                    Template Content SID
                  </label>
                  <input
                    id={`${ids}-sid`}
                    className={`${inputClass} font-mono`}
                    value={state.whatsappSid}
                    onChange={(e) => update({ whatsappSid: e.target.value })}
                    placeholder="HX0123456789abcdef0123456789abcdef"
                    aria-invalid={errors.whatsappSid ? true : undefined}
                    aria-describedby={errors.whatsappSid ? `${ids}-sid-error` : undefined}
                  />
                  <FieldError id={`${ids}-sid-error`} message={errors.whatsappSid} />
                </div>
                <fieldset className="space-y-2">
                  <legend className="text-sm font-medium">Template variables</legend>
                  {state.whatsappVariables.map((variable, index) => {
                    const error = errors[`whatsappVariables.${index}`];
                    const setVar = (patch: Partial<typeof variable>) =>
                      update({
                        whatsappVariables: state.whatsappVariables.map((v, i) =>
                          i === index ? { ...v, ...patch } : v,
                        ),
                      });
                    return (
                      <div key={index} className="flex flex-wrap items-start gap-2">
                        <label className="sr-only" htmlFor={`${ids}-vk-${index}`}>
                          Placeholder number {index + 1}
                        </label>
                        <input
                          id={`${ids}-vk-${index}`}
                          className={`${inputClass} !w-16`}
                          value={variable.key}
                          onChange={(e) => setVar({ key: e.target.value })}
                        />
                        <label className="sr-only" htmlFor={`${ids}-vv-${index}`}>
                          Value of placeholder {variable.key || index + 1}
                        </label>
                        <select
                          id={`${ids}-vv-${index}`}
                          className={`${selectClass} flex-1`}
                          value={variable.value}
                          onChange={(e) => setVar({ value: e.target.value })}
                          aria-invalid={error ? true : undefined}
                        >
                          <option value="{{ first_name }}">First name</option>
                          <option value="{{ last_name }}">Last name</option>
                          <option value="{{ place_name }}">Place name</option>
                          <option value="{{ unsubscribe_url }}">Unsubscribe link</option>
                        </select>
                        <Button
                          variant="ghost"
                          size="sm"
                          aria-label={`Remove placeholder ${variable.key}`}
                          onClick={() =>
                            update({
                              whatsappVariables: state.whatsappVariables.filter(
                                (_, i) => i !== index,
                              ),
                            })
                          }
                        >
                          Remove
                        </Button>
                        {error && <p className="w-full text-sm text-red-700">{error}</p>}
                      </div>
                    );
                  })}
                  <Button
                    variant="secondary"
                    size="sm"
                    onClick={() =>
                      update({
                        whatsappVariables: [
                          ...state.whatsappVariables,
                          {
                            key: String(state.whatsappVariables.length + 1),
                            value: '{{ first_name }}',
                          },
                        ],
                      })
                    }
                  >
                    Add variable
                  </Button>
                </fieldset>
              </div>
            )}
          </fieldset>
        )}
      </div>
      <div className="lg:sticky lg:top-4 lg:self-start">
        <PreviewPanel campaign={campaign} />
      </div>
    </div>
  );
}
