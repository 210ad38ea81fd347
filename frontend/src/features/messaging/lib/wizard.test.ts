import { describe, expect, it } from 'vitest';

import { makeCampaign } from '@/testing/mocks/data';

import type { Channel } from '@/types/campaign';

import {
  configFromState,
  defaultTimeZone,
  initialState,
  savableState,
  setPlaceholderKind,
  unknownVariable,
  unsavableFields,
  validateStep,
  wizardFieldFor,
} from './wizard';

const ctx = { savedRecipients: 0, selectedCount: 0, now: new Date('2026-11-24T12:00:00Z') };
const base = () => ({
  ...initialState(makeCampaign(), 'Europe/Paris'),
  channels: ['email', 'whatsapp'] as ('email' | 'whatsapp')[],
});

describe('validateStep', () => {
  it('step 1 needs a name', () => {
    expect(validateStep(1, { ...base(), name: '  ' }, ctx)).toEqual({
      name: 'Give the campaign a name.',
    });
    expect(validateStep(1, base(), ctx)).toEqual({});
  });

  it('step 2 needs a place and step 3 a channel', () => {
    expect(validateStep(2, { ...base(), placeIds: [] }, ctx).placeIds).toBe(
      'Choose at least one place.',
    );
    expect(validateStep(3, { ...base(), channels: [] }, ctx).channels).toMatch(/email, WhatsApp/);
  });

  it('step 4 needs customers, new or already saved', () => {
    const touched = { ...base(), selectionTouched: true };
    expect(validateStep(4, touched, ctx).customers).toBe('Select at least one customer.');
    expect(validateStep(4, touched, { ...ctx, selectedCount: 3 })).toEqual({});
    expect(validateStep(4, base(), { ...ctx, savedRecipients: 10 })).toEqual({});
  });

  it('step 5 checks each chosen channel', () => {
    const errors = validateStep(5, { ...base(), emailBody: '<p></p>' }, ctx);
    expect(errors).toMatchObject({
      emailSubject: 'Write the email subject.',
      emailBody: 'Write the email message.',
      whatsappSid: 'Pick an approved template.',
    });
    const text = validateStep(5, { ...base(), whatsappMode: 'text' }, ctx);
    expect(text.whatsappMessage).toBe('Write the WhatsApp message.');
  });

  it('step 5 refuses a WhatsApp text over 1600 characters and unknown variables', () => {
    const s = {
      ...base(),
      emailSubject: 'Hi {{ nickname }}',
      emailBody: '<p>Hello</p>',
      whatsappMode: 'text' as const,
      whatsappMessage: 'x'.repeat(1601),
    };
    const errors = validateStep(5, s, ctx);
    expect(errors.whatsappMessage).toMatch(/at most 1600 characters; remove 1/);
    expect(errors.emailSubject).toMatch(/Unknown variable \{\{ nickname \}\}/);
    expect(
      validateStep(5, { ...s, emailSubject: 'Hi', whatsappMessage: 'x'.repeat(1600) }, ctx),
    ).toEqual({});
  });

  it('step 5 needs a template and a value for each of its placeholders', () => {
    const s = {
      ...base(),
      channels: ['whatsapp'] as ('email' | 'whatsapp')[],
      whatsappMode: 'template' as const,
    };
    expect(validateStep(5, s, ctx).whatsappSid).toBe('Pick an approved template.');
    const picked = {
      ...s,
      whatsappSid: `HX${'a'.repeat(32)}`,
      whatsappVariables: [
        { key: '1', kind: 'first_name' as const, value: '{{ first_name }}' },
        { key: '2', kind: '' as const, value: '' },
      ],
    };
    expect(validateStep(5, picked, ctx)).toEqual({
      'whatsappVariables.1': 'Choose what {{2}} is: a customer’s detail or a text.',
    });
    const filled = setPlaceholderKind(picked.whatsappVariables[1]!, 'text');
    expect(
      validateStep(
        5,
        { ...picked, whatsappVariables: [picked.whatsappVariables[0]!, filled] },
        ctx,
      ),
    ).toEqual({
      'whatsappVariables.1': 'Write the text for {{2}}.',
    });
    const done = [picked.whatsappVariables[0]!, { ...filled, value: 'our salon' }];
    expect(validateStep(5, { ...picked, whatsappVariables: done }, ctx)).toEqual({});
    expect(configFromState({ ...picked, whatsappVariables: done })).toMatchObject({
      whatsapp_message: null,
      whatsapp_content_variables: { '1': '{{ first_name }}', '2': 'our salon' },
    });
  });

  it('a new campaign starts with a template; free text alone is a choice', () => {
    expect(initialState(undefined, 'Europe/Paris').whatsappMode).toBe('template');
    const saved = makeCampaign({
      messaging_config: { channels: ['whatsapp'], whatsapp_message: 'Hi', send_immediately: false },
    });
    expect(initialState(saved, 'Europe/Paris').whatsappMode).toBe('text');
  });

  it('step 6 needs a future time when scheduling', () => {
    const later = { ...base(), scheduleMode: 'later' as const };
    expect(validateStep(6, later, ctx).scheduledLocal).toBe('Choose the date and time to send.');
    expect(
      validateStep(6, { ...later, scheduledLocal: '2026-11-24T12:30' }, ctx).scheduledLocal,
    ).toBe('Choose a time in the future.');
    expect(validateStep(6, { ...later, scheduledLocal: '2026-11-24T14:30' }, ctx)).toEqual({});
  });
});

describe('configFromState', () => {
  it('keeps the content of the chosen channels and the schedule with its offset', () => {
    const config = configFromState({
      ...base(),
      channels: ['email'],
      emailSubject: 'Hi',
      emailBody: '<p>Hello</p>',
      whatsappMessage: 'ignored',
      scheduleMode: 'later',
      scheduledLocal: '2026-12-01T09:30',
      timeZone: 'Europe/Paris',
    });
    expect(config).toEqual({
      channels: ['email'],
      email_subject: 'Hi',
      email_body: '<p>Hello</p>',
      whatsapp_message: null,
      whatsapp_content_sid: null,
      whatsapp_content_variables: null,
      scheduled_send_time: '2026-12-01T09:30:00+01:00',
      scheduled_time_zone: 'Europe/Paris',
      send_immediately: false,
    });
  });
});

describe('autosave', () => {
  const base = initialState(undefined, 'Europe/London');
  const saved = { ...base, name: 'Spring', channels: ['email', 'whatsapp'] as Channel[] };

  it('keeps a field that cannot be saved at its saved value and saves the others', () => {
    const typed = {
      ...saved,
      emailSubject: 'Hello {{ fist_name }}',
      whatsappMode: 'text' as const,
      whatsappMessage: 'x'.repeat(1601),
      description: 'New description',
    };
    const bad = unsavableFields(typed);
    expect(Object.keys(bad).sort()).toEqual(['emailSubject', 'whatsappMessage']);
    const savable = savableState(typed, saved, Object.keys(bad));
    expect(savable.description).toBe('New description');
    expect(savable.emailSubject).toBe(saved.emailSubject);
    expect(savable.whatsappMessage).toBe(saved.whatsappMessage);
  });

  it('saves an empty field (a draft may be incomplete) but not a six-digit year', () => {
    const typed = {
      ...saved,
      emailSubject: '',
      scheduleMode: 'later' as const,
      scheduledLocal: '275760-01-01T10:00',
    };
    expect(Object.keys(unsavableFields(typed))).toEqual(['scheduledLocal']);
  });

  it("starts a schedule in the owner's zone when a place is there, else the first place's", () => {
    expect(defaultTimeZone(['Europe/Paris', 'Europe/London'], 'Europe/London')).toBe(
      'Europe/London',
    );
    expect(defaultTimeZone(['Europe/Paris'], 'Asia/Tokyo')).toBe('Europe/Paris');
  });

  it('reads a saved schedule back in the zone it was chosen in', () => {
    const campaign = makeCampaign({
      messaging_config: {
        channels: ['email'],
        scheduled_send_time: '2026-12-07T10:00:00+00:00',
        scheduled_time_zone: 'Europe/London',
        send_immediately: false,
      },
    });
    const state = initialState(campaign, 'Europe/Paris');
    expect([state.timeZone, state.scheduledLocal]).toEqual(['Europe/London', '2026-12-07T10:00']);
  });
});

it('maps API field names to wizard fields', () => {
  expect(wizardFieldFor('messaging_config.email_subject')).toBe('emailSubject');
  expect(wizardFieldFor('messaging_config.whatsapp_content_variables.1')).toBe('whatsappSid');
  expect(unknownVariable('{{ first_name }} {{place_name}}')).toBeUndefined();
});
