// The messaging wizard's state, its per-step validation and the config it saves. Pure
// functions, so the rules are tested without rendering.
import {
  TEMPLATE_VARIABLES,
  WHATSAPP_MAX_CHARS,
  type Campaign,
  type Channel,
  type MessagingConfig,
} from '@/types/campaign';
import { isoToZonedLocal, zonedLocalToIso } from '@/lib/timezone';

import { emptySelection, type Selection } from './selection';

/** A WhatsApp text's length as Twilio counts it and the server checks it: UTF-16 code units
 * (a JavaScript string's length), so an emoji outside the basic plane counts as 2. */
export function whatsappLength(text: string): number {
  return text.length;
}

export const STEPS = [
  { id: 1, title: 'Basic info' },
  { id: 2, title: 'Places' },
  { id: 3, title: 'Channels' },
  { id: 4, title: 'Customers' },
  { id: 5, title: 'Message' },
  { id: 6, title: 'Schedule & send' },
] as const;
export type StepId = (typeof STEPS)[number]['id'];

/** What fills one `{{n}}` of a WhatsApp template: a customer's detail, or a text. */
export type PlaceholderKind = (typeof TEMPLATE_VARIABLES)[number]['name'] | 'text' | '';

export interface TemplateVariable {
  key: string;
  kind: PlaceholderKind;
  /** The value sent: `{{ first_name }}` for a detail, the owner's text otherwise. */
  value: string;
}

const detailValue = (name: string) => `{{ ${name} }}`;

/** The mapping row for a saved value: a plain `{{ detail }}` is that detail, else a text. */
export function placeholderFromValue(key: string, value: string): TemplateVariable {
  const detail = TEMPLATE_VARIABLES.find((v) => detailValue(v.name) === value.trim());
  return detail ? { key, kind: detail.name, value } : { key, kind: 'text', value };
}

export function setPlaceholderKind(variable: TemplateVariable, kind: PlaceholderKind) {
  if (kind === 'text' || kind === '') return { ...variable, kind, value: '' };
  return { ...variable, kind, value: detailValue(kind) };
}

/** The rows for a newly picked template: one per placeholder, keeping what was chosen. */
export function placeholdersFor(placeholders: string[], current: TemplateVariable[]) {
  return placeholders.map(
    (key) => current.find((v) => v.key === key) ?? { key, kind: '' as const, value: '' },
  );
}

export interface WizardState {
  name: string;
  description: string;
  placeIds: number[];
  channels: Channel[];
  selection: Selection;
  /** The owner changed the selection since it was last saved. */
  selectionTouched: boolean;
  emailSubject: string;
  emailBody: string;
  whatsappMode: 'text' | 'template';
  /** With a template: free text too, for the customers inside their 24-hour window. */
  whatsappWindowText: boolean;
  whatsappMessage: string;
  whatsappSid: string;
  whatsappVariables: TemplateVariable[];
  scheduleMode: 'now' | 'later';
  scheduledLocal: string;
  timeZone: string;
}

export type WizardErrors = Partial<Record<string, string>>;

/** The owner's own time zone, as the browser knows it. */
export function ownerTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** The zone a new schedule starts in: the owner's own when one of the places is in it, else
 * the first chosen place's. */
export function defaultTimeZone(placeZones: string[], own = ownerTimeZone()): string {
  if (placeZones.includes(own) || placeZones.length === 0) return own;
  return placeZones[0]!;
}

export function initialState(campaign: Campaign | undefined, defaultZone: string): WizardState {
  const cfg = campaign?.messaging_config;
  const vars = Object.entries(cfg?.whatsapp_content_variables ?? {}).map(([key, value]) =>
    placeholderFromValue(key, value),
  );
  const timeZone = cfg?.scheduled_time_zone ?? defaultZone;
  return {
    name: campaign?.name ?? '',
    description: campaign?.description ?? '',
    placeIds: campaign?.place_ids ?? [],
    channels: cfg?.channels ?? ['email'],
    selection: emptySelection(),
    selectionTouched: false,
    emailSubject: cfg?.email_subject ?? '',
    emailBody: cfg?.email_body ?? '',
    // A template reaches everyone; free text only those who wrote in the last 24 hours.
    whatsappMode: cfg?.whatsapp_message && !cfg.whatsapp_content_sid ? 'text' : 'template',
    whatsappWindowText: Boolean(cfg?.whatsapp_message && cfg.whatsapp_content_sid),
    whatsappMessage: cfg?.whatsapp_message ?? '',
    whatsappSid: cfg?.whatsapp_content_sid ?? '',
    whatsappVariables: vars,
    scheduleMode: cfg?.scheduled_send_time && !cfg.send_immediately ? 'later' : 'now',
    scheduledLocal: cfg?.scheduled_send_time
      ? isoToZonedLocal(cfg.scheduled_send_time, timeZone)
      : '',
    timeZone,
  };
}

const KNOWN = new Set<string>(TEMPLATE_VARIABLES.map((v) => v.name));
const VARIABLE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** The first unknown `{{ variable }}` in a text, with a sentence for the owner. */
export function unknownVariable(text: string): string | undefined {
  for (const match of text.matchAll(VARIABLE)) {
    const name = match[1]!;
    if (!KNOWN.has(name)) {
      const allowed = TEMPLATE_VARIABLES.map((v) => v.name).join(', ');
      return `Unknown variable {{ ${name} }}. You can use ${allowed}.`;
    }
  }
  return undefined;
}

/** Plain text of the editor's HTML ("<p></p>" is empty). */
export function htmlText(html: string): string {
  return html
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .trim();
}

export interface StepContext {
  savedRecipients: number;
  selectedCount: number;
  now?: Date;
}

function basicErrors(s: WizardState): WizardErrors {
  const errors: WizardErrors = {};
  if (!s.name.trim()) errors.name = 'Give the campaign a name.';
  else if (s.name.trim().length > 200) errors.name = 'Keep the name under 200 characters.';
  if (s.description.length > 2000)
    errors.description = 'Keep the description under 2000 characters.';
  return errors;
}

/** What is wrong with the content as typed (empty fields included). */
function contentErrors(s: WizardState): WizardErrors {
  const errors: WizardErrors = {};
  if (s.channels.includes('email')) {
    if (!s.emailSubject.trim()) errors.emailSubject = 'Write the email subject.';
    else if (s.emailSubject.length > 255)
      errors.emailSubject = 'Keep the subject under 255 characters.';
    else if (unknownVariable(s.emailSubject)) errors.emailSubject = unknownVariable(s.emailSubject);
    if (!htmlText(s.emailBody)) errors.emailBody = 'Write the email message.';
    else if (unknownVariable(s.emailBody)) errors.emailBody = unknownVariable(s.emailBody);
  }
  if (s.channels.includes('whatsapp')) {
    if (s.whatsappMode === 'text' || s.whatsappWindowText) {
      if (!s.whatsappMessage.trim()) errors.whatsappMessage = 'Write the WhatsApp message.';
      else if (whatsappLength(s.whatsappMessage) > WHATSAPP_MAX_CHARS)
        errors.whatsappMessage = `WhatsApp messages can have at most ${WHATSAPP_MAX_CHARS} characters; remove ${whatsappLength(s.whatsappMessage) - WHATSAPP_MAX_CHARS}.`;
      else if (unknownVariable(s.whatsappMessage))
        errors.whatsappMessage = unknownVariable(s.whatsappMessage);
    }
    if (s.whatsappMode === 'template') {
      if (!s.whatsappSid.trim()) errors.whatsappSid = 'Pick an approved template.';
      s.whatsappVariables.forEach((v, i) => {
        if (v.kind === '')
          errors[`whatsappVariables.${i}`] =
            `Choose what {{${v.key}}} is: a customer’s detail or a text.`;
        else if (!v.value.trim())
          errors[`whatsappVariables.${i}`] = `Write the text for {{${v.key}}}.`;
        else if (unknownVariable(v.value))
          errors[`whatsappVariables.${i}`] = unknownVariable(v.value);
      });
    }
  }
  return errors;
}

// The date input would otherwise take a six-digit year.
export const MAX_SCHEDULE_YEAR = 9999;

function scheduleErrors(s: WizardState, now: Date): WizardErrors {
  const errors: WizardErrors = {};
  if (s.scheduleMode === 'later') {
    const iso = s.scheduledLocal ? zonedLocalToIso(s.scheduledLocal, s.timeZone) : null;
    if (/^\d{5,}/.test(s.scheduledLocal))
      errors.scheduledLocal = 'Write the year with four digits.';
    else if (!iso) errors.scheduledLocal = 'Choose the date and time to send.';
    else if (new Date(iso).getTime() <= now.getTime())
      errors.scheduledLocal = 'Choose a time in the future.';
  }
  return errors;
}

export function validateStep(step: StepId, s: WizardState, ctx: StepContext): WizardErrors {
  const errors: WizardErrors = {};
  switch (step) {
    case 1:
      return basicErrors(s);
    case 2:
      if (s.placeIds.length === 0) errors.placeIds = 'Choose at least one place.';
      break;
    case 3:
      if (s.channels.length === 0) errors.channels = 'Choose email, WhatsApp or both.';
      break;
    case 4: {
      const count = s.selectionTouched ? ctx.selectedCount : ctx.savedRecipients;
      if (count === 0) errors.customers = 'Select at least one customer.';
      break;
    }
    case 5:
      return contentErrors(s);
    case 6:
      return scheduleErrors(s, ctx.now ?? new Date());
  }
  return errors;
}

/** Fields whose value may not be saved as typed (an empty one may: a draft is incomplete). */
export function unsavableFields(s: WizardState): WizardErrors {
  const errors: WizardErrors = { ...basicErrors(s), ...contentErrors(s) };
  for (const [key, empty] of [
    ['emailSubject', !s.emailSubject.trim()],
    ['emailBody', !htmlText(s.emailBody)],
    ['whatsappMessage', !s.whatsappMessage.trim()],
  ] as const)
    if (empty) delete errors[key];
  if (!s.whatsappSid.trim()) delete errors.whatsappSid;
  if (s.channels.length === 0) errors.channels = 'Choose email, WhatsApp or both.';
  const schedule = scheduleErrors(s, new Date(0));
  if (schedule.scheduledLocal && s.scheduledLocal) errors.scheduledLocal = schedule.scheduledLocal;
  return errors;
}

/** The wizard fields that travel together when one of them cannot be saved. */
function fieldGroup(field: string): (keyof WizardState)[] {
  if (field === 'whatsappSid' || field.startsWith('whatsappVariables'))
    return ['whatsappMode', 'whatsappSid', 'whatsappVariables'];
  if (field === 'scheduledLocal' || field === 'timeZone')
    return ['scheduleMode', 'scheduledLocal', 'timeZone'];
  return [field as keyof WizardState];
}

/** What autosave may send: the state as typed, with each field that cannot be saved (`bad`)
 * kept at its last saved value, so one invalid field never holds back the others. */
export function savableState(
  state: WizardState,
  saved: WizardState,
  bad: Iterable<string>,
): WizardState {
  const merged = { ...state } as Record<string, unknown>;
  for (const field of bad)
    for (const key of fieldGroup(field))
      merged[key] = (saved as unknown as Record<string, unknown>)[key];
  return merged as unknown as WizardState;
}

/** The fields autosave keeps on the server (places and the selection are saved at Next). */
export function autosaveKey(s: WizardState): string {
  return JSON.stringify({
    name: s.name.trim(),
    description: s.description.trim(),
    config: configFromState(s),
  });
}

/** Short names of fields, for "Not saved: WhatsApp message: …". */
export const FIELD_LABELS: Record<string, string> = {
  name: 'Campaign name',
  description: 'Description',
  channels: 'Channels',
  emailSubject: 'Subject',
  emailBody: 'Email message',
  whatsappMessage: 'WhatsApp message',
  whatsappSid: 'WhatsApp template',
  scheduledLocal: 'Schedule',
  timeZone: 'Time zone',
};

/** A field's problem in a few words, for the save status ("too long"). */
export function shortReason(message: string): string {
  const unknown = /^Unknown variable (\{\{[^}]*\}\})/.exec(message);
  if (unknown) return `has an unknown variable ${unknown[1]}`;
  if (/at most|under \d+ characters|too long|over the limit/i.test(message)) return 'too long';
  return message.charAt(0).toLowerCase() + message.slice(1).replace(/\.$/, '');
}

export function fieldLabel(field: string): string {
  if (field.startsWith('whatsappVariables')) return 'WhatsApp template variable';
  return FIELD_LABELS[field] ?? field;
}

/** The campaign's messaging_config as the wizard state describes it. */
export function configFromState(s: WizardState): MessagingConfig {
  const email = s.channels.includes('email');
  const whatsapp = s.channels.includes('whatsapp');
  const template = whatsapp && s.whatsappMode === 'template';
  const text = whatsapp && (!template || s.whatsappWindowText);
  const variables = Object.fromEntries(
    s.whatsappVariables.filter((v) => v.value.trim()).map((v) => [v.key, v.value]),
  );
  const later = s.scheduleMode === 'later' && s.scheduledLocal;
  return {
    channels: s.channels,
    email_subject: email && s.emailSubject ? s.emailSubject : null,
    email_body: email && htmlText(s.emailBody) ? s.emailBody : null,
    whatsapp_message: text && s.whatsappMessage ? s.whatsappMessage : null,
    whatsapp_content_sid: template && s.whatsappSid.trim() ? s.whatsappSid.trim() : null,
    whatsapp_content_variables: template && Object.keys(variables).length ? variables : null,
    scheduled_send_time: later ? zonedLocalToIso(s.scheduledLocal, s.timeZone) : null,
    scheduled_time_zone: later ? s.timeZone : null,
    send_immediately: s.scheduleMode === 'now',
  };
}

/** API field names (`messaging_config.email_subject`) → the wizard's field keys. */
const API_FIELDS: Record<string, string> = {
  name: 'name',
  description: 'description',
  place_ids: 'placeIds',
  'messaging_config.channels': 'channels',
  'messaging_config.email_subject': 'emailSubject',
  'messaging_config.email_body': 'emailBody',
  'messaging_config.whatsapp_message': 'whatsappMessage',
  'messaging_config.whatsapp_content_sid': 'whatsappSid',
  'messaging_config.scheduled_send_time': 'scheduledLocal',
  'messaging_config.scheduled_time_zone': 'timeZone',
};

export function wizardFieldFor(apiField: string): string | undefined {
  if (API_FIELDS[apiField]) return API_FIELDS[apiField];
  const prefix = Object.keys(API_FIELDS).find((f) => apiField.startsWith(`${f}.`));
  if (prefix) return API_FIELDS[prefix];
  if (apiField.startsWith('messaging_config.whatsapp_content_variables')) return 'whatsappSid';
  return undefined;
}

export function stepOfField(field: string): StepId {
  if (field === 'name' || field === 'description') return 1;
  if (field === 'placeIds') return 2;
  if (field === 'channels') return 3;
  if (field === 'customers') return 4;
  if (field === 'scheduledLocal' || field === 'timeZone') return 6;
  return 5;
}
