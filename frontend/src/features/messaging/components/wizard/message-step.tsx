import { lazy, Suspense, useId, useRef, useState } from 'react';

import { errorMessage } from '@/api/client';
import { Alert } from '@/components/ui/alert';
import { FieldError, inputClass, selectClass } from '@/components/ui/field';
import { ChatIcon, EnvelopeIcon } from '@/components/ui/icons';
import { Spinner } from '@/components/ui/spinner';
import { formatNumber } from '@/lib/format';
import { WHATSAPP_MAX_CHARS, type Campaign, type WhatsAppPreview } from '@/types/campaign';

import { useCampaignRecipients } from '../../api/get-campaign-recipients';
import { useCampaignPreview } from '../../api/preview-campaign';
import { whatsappLength, type WizardErrors, type WizardState } from '../../lib/wizard';
import type { EmailBodyEditorHandle } from '../email-body-editor';
import { EmailPreviewFrame } from '../email-preview-frame';
import { insertAtCaret, VariableButtons } from '../variable-buttons';
import { WhatsAppTemplatePicker } from '../whatsapp-template-picker';
import { StepHeading } from './stepper';

const EmailBodyEditor = lazy(() => import('../email-body-editor'));

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

function ChatBubble({ text, buttons = [] }: { text: string; buttons?: string[] }) {
  return (
    <div className="max-w-[85%]">
      <div className="relative rounded-lg rounded-tl-none bg-white px-3 py-2 text-sm text-slate-900 shadow-sm">
        <p className="whitespace-pre-wrap break-words">{text}</p>
      </div>
      {buttons.map((b) => (
        <p
          key={b}
          className="mt-1 rounded-lg bg-white px-3 py-1.5 text-center text-sm font-medium text-sky-800 shadow-sm"
        >
          {b}
        </p>
      ))}
    </div>
  );
}

/** The WhatsApp message as the customer's phone shows it: a chat bubble with the
 * template's filled-in text, or the free text for a customer inside their window. */
function WhatsAppPreviewCard({ preview }: { preview: WhatsAppPreview }) {
  const { text, template, receives, window_open: open } = preview;
  const both = Boolean(text && template);
  const who =
    open === null
      ? null
      : open
        ? 'wrote to you in the last 24 hours'
        : 'has not written to you in the last 24 hours';
  return (
    <article
      className="space-y-2 rounded-md border border-emerald-200 bg-[#e7ddd3] p-3 text-sm"
      data-testid="whatsapp-preview"
    >
      <p className="flex items-center gap-2 font-medium text-emerald-950">
        <ChatIcon className="h-4 w-4" /> WhatsApp
        {template && <span className="font-normal">· template “{template.name}”</span>}
      </p>
      {who && (
        <p className="text-xs text-slate-800">
          This customer {who}:{' '}
          {receives === 'text'
            ? 'they get the free text.'
            : receives === 'template'
              ? 'they get the template.'
              : 'nothing can reach them.'}
        </p>
      )}
      {preview.skipped_reason && <Alert tone="warning">{preview.skipped_reason}</Alert>}
      {template && (!both || receives !== 'text') && (
        <>
          {both && (
            <p className="text-xs text-slate-800">Customers outside their 24-hour window:</p>
          )}
          <ChatBubble text={template.text} buttons={template.buttons} />
        </>
      )}
      {text && (!both || receives !== 'template') && (
        <>
          {both && (
            <p className="text-xs text-slate-800">Customers who wrote in the last 24 hours:</p>
          )}
          <ChatBubble text={text} />
        </>
      )}
    </article>
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
          {data.whatsapp && <WhatsAppPreviewCard preview={data.whatsapp} />}
        </div>
      )}
    </section>
  );
}

/** Step 5: the email (subject + rich text) and the WhatsApp text or template, with a preview. */
export function MessageStep({ campaign, state, update, errors }: Props) {
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
    <>
      <StepHeading step={5}>
        Personalise with variables; the preview is rendered by Rebook for a real customer.
      </StepHeading>
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
              <div role="radiogroup" aria-label="WhatsApp content" className="space-y-2">
                <label className="flex items-start gap-2 text-sm">
                  <input
                    type="radio"
                    name={`${ids}-wa-mode`}
                    className="mt-1 accent-teal-700"
                    checked={state.whatsappMode === 'template'}
                    onChange={() => update({ whatsappMode: 'template' })}
                  />
                  <span>
                    <span className="font-medium">Approved template</span>
                    <span className="block text-slate-600">
                      Reaches every customer: WhatsApp lets a business start a conversation only
                      with a template it approved.
                    </span>
                  </span>
                </label>
                <label className="flex items-start gap-2 text-sm">
                  <input
                    type="radio"
                    name={`${ids}-wa-mode`}
                    className="mt-1 accent-teal-700"
                    checked={state.whatsappMode === 'text'}
                    onChange={() => update({ whatsappMode: 'text' })}
                  />
                  <span>
                    <span className="font-medium">Free text only</span>
                    <span className="block text-slate-600">
                      Reaches only customers who wrote to you on WhatsApp in the last 24 hours; the
                      others are skipped.
                    </span>
                  </span>
                </label>
              </div>
              {state.whatsappMode === 'template' && (
                <>
                  <WhatsAppTemplatePicker
                    sid={state.whatsappSid}
                    variables={state.whatsappVariables}
                    errors={errors}
                    onChange={update}
                  />
                  <label className="flex items-start gap-2 text-sm">
                    <input
                      type="checkbox"
                      className="mt-1 accent-teal-700"
                      checked={state.whatsappWindowText}
                      onChange={(e) => update({ whatsappWindowText: e.target.checked })}
                    />
                    <span>
                      Send a free text instead to customers who wrote to you in the last 24 hours
                    </span>
                  </label>
                </>
              )}
              {(state.whatsappMode === 'text' || state.whatsappWindowText) && (
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
                    WhatsApp delivers free text only within 24 hours of the customer’s last message
                    to you; Rebook checks each customer’s window as the message leaves.
                  </p>
                </div>
              )}
            </fieldset>
          )}
        </div>
        <div className="lg:sticky lg:top-4 lg:self-start">
          <PreviewPanel campaign={campaign} />
        </div>
      </div>
    </>
  );
}
