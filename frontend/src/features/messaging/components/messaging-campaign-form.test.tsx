import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { useState } from 'react';
import { describe, expect, it, vi } from 'vitest';

import { makeCampaign } from '@/testing/mocks/data';
import { API, calls, state } from '@/testing/mocks/handlers';
import { server } from '@/testing/setup-tests';
import { renderWithProviders } from '@/testing/test-utils';
import type { Campaign } from '@/types/campaign';

import type { StepId } from '../lib/wizard';
import { MessagingCampaignForm } from './messaging-campaign-form';

function Wizard({
  initialStep = 1,
  campaignId = 7,
  onSent = () => undefined,
}: {
  initialStep?: StepId;
  campaignId?: number | null;
  onSent?: (c: Campaign) => void;
}) {
  const [step, setStep] = useState<StepId>(initialStep);
  const [id, setId] = useState(campaignId);
  return (
    <MessagingCampaignForm
      campaignId={id}
      step={step}
      onStepChange={setStep}
      onCreated={(c) => {
        setId(c.id);
        setStep(2);
      }}
      onSent={onSent}
      onExit={() => undefined}
    />
  );
}

const heading = (text: RegExp) => screen.findByRole('heading', { name: text });
const next = () => screen.getByRole('button', { name: 'Next' });

describe('MessagingCampaignForm', () => {
  it('step 1 asks for a name, then creates the draft on the server', async () => {
    const { user } = renderWithProviders(<Wizard campaignId={null} />);
    await heading(/Step 1 of 6/);
    await user.click(next());
    expect(await screen.findByText('Give the campaign a name.')).toBeInTheDocument();
    expect(screen.getByLabelText('Campaign name')).toHaveAttribute('aria-invalid', 'true');
    expect(calls.creates).toHaveLength(0);

    await user.type(screen.getByLabelText('Campaign name'), 'Winter offer');
    await user.click(next());
    await heading(/Step 2 of 6: Places/);
    expect(calls.creates).toEqual([
      expect.objectContaining({
        name: 'Winter offer',
        campaign_type: 'messaging',
        place_ids: [1, 2, 3],
        messaging_config: { channels: ['email'], send_immediately: false },
      }),
    ]);
  });

  it('step 2 needs a place and saves the choice', async () => {
    const { user } = renderWithProviders(<Wizard initialStep={2} />);
    await heading(/Step 2 of 6/);
    await user.click(screen.getByLabelText(/Studio Lumière/));
    await user.click(screen.getByLabelText(/Glow Salon/));
    await user.click(next());
    expect(await screen.findByText('Choose at least one place.')).toBeInTheDocument();
    await user.click(screen.getByLabelText(/Bella Cucina/));
    await user.click(next());
    await heading(/Step 3 of 6/);
    expect(calls.patches).toEqual([{ place_ids: [3] }]);
  });

  it('step 3 needs a channel', async () => {
    const { user } = renderWithProviders(<Wizard initialStep={3} />);
    await heading(/Step 3 of 6/);
    await user.click(screen.getByRole('checkbox', { name: /^Email/ }));
    await user.click(next());
    expect(await screen.findByText('Choose email, WhatsApp or both.')).toBeInTheDocument();
    await user.click(screen.getByRole('checkbox', { name: /^WhatsApp/ }));
    await user.click(next());
    await heading(/Step 4 of 6/);
    expect(calls.patches[0]?.messaging_config?.channels).toEqual(['whatsapp']);
  });

  it('no other step can be chosen while a step is being saved', async () => {
    let release = () => undefined as void;
    const saved = new Promise<void>((resolve) => (release = resolve));
    server.use(
      http.post(`${API}/owner/campaigns/:id/recipients`, async () => {
        await saved;
        state.recipients = 120;
        return HttpResponse.json({ added: 120, removed: 0, total_recipients: 120 });
      }),
    );
    const { user } = renderWithProviders(<Wizard initialStep={4} />);
    await heading(/Step 4 of 6/);
    await waitFor(() =>
      expect(screen.getByTestId('selection-count')).toHaveTextContent('0 of 120'),
    );
    await user.click(screen.getByRole('button', { name: 'Select all' }));
    await user.click(next());
    expect(await screen.findByText(/Saving the selection of 120 customers/)).toBeInTheDocument();
    const steps = screen.getByRole('navigation', { name: 'Wizard steps' });
    for (const step of [/Step 3/, /Step 5/, /Step 6/])
      expect(within(steps).getByRole('button', { name: step })).toBeDisabled();

    release();
    await heading(/Step 5 of 6/);
    expect(within(steps).getByRole('button', { name: /Step 6/ })).toBeEnabled();
  });

  it('step 4 needs customers and saves "select all" as a filter', async () => {
    const { user } = renderWithProviders(<Wizard initialStep={4} />);
    await heading(/Step 4 of 6/);
    await waitFor(() =>
      expect(screen.getByTestId('selection-count')).toHaveTextContent('0 of 120'),
    );
    await user.click(next());
    expect(await screen.findByText('Select at least one customer.')).toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Select all' }));
    await user.click(screen.getByRole('checkbox', { name: 'Select Ada Customer001' }));
    await waitFor(() =>
      expect(screen.getByTestId('selection-count')).toHaveTextContent('119 of 120'),
    );
    await user.click(next());
    await heading(/Step 5 of 6/);
    expect(calls.recipientDeletes).toBe(1);
    expect(calls.recipientBodies).toEqual([
      { select_all: { filter_by: 'all', search: null, exclude_user_ids: [1] } },
    ]);
  });

  it('step 5 counts WhatsApp characters and stops at 1600', async () => {
    state.campaign = makeCampaign({
      messaging_config: { channels: ['whatsapp'], send_immediately: false },
    });
    const { user } = renderWithProviders(<Wizard initialStep={5} />);
    await heading(/Step 5 of 6/);
    await user.click(screen.getByRole('radio', { name: /^Free text only/ }));
    const box = screen.getByRole('textbox', { name: 'WhatsApp message' });
    await user.click(next());
    expect(await screen.findByText('Write the WhatsApp message.')).toBeInTheDocument();

    await user.click(box);
    await user.paste('x'.repeat(1601));
    expect(screen.getByTestId('whatsapp-counter')).toHaveTextContent('1,601 / 1,600');
    expect(screen.getByText(/1 over the limit/)).toBeInTheDocument();
    await user.click(next());
    expect(await screen.findByText(/at most 1600 characters; remove 1\./)).toBeInTheDocument();

    await user.type(box, '{Backspace}');
    expect(screen.getByTestId('whatsapp-counter')).toHaveTextContent('1,600 / 1,600');
    await user.click(
      screen.getByRole('button', { name: 'Insert First name into the WhatsApp message' }),
    );
    expect(screen.getByTestId('whatsapp-counter')).toHaveTextContent('1,616 / 1,600');
  });

  it('step 5 shows the email preview only inside a sandboxed frame', async () => {
    const alert = vi.spyOn(window, 'alert').mockImplementation(() => undefined);
    const hostile = '<p>Hi Ada</p><img src=x onerror=alert(1)><script>alert(2)</script>';
    state.campaign = makeCampaign({
      messaging_config: {
        channels: ['email'],
        email_subject: 'Hello',
        email_body: '<p>Hi</p>',
        send_immediately: false,
      },
    });
    server.use(
      http.post(`${API}/owner/campaigns/:id/preview`, () =>
        HttpResponse.json({
          customer: { user_id: 1, name: 'Ada Customer001' },
          email: { subject: 'Hello', html: hostile, text: 'Hi Ada' },
          whatsapp: null,
        }),
      ),
    );
    renderWithProviders(<Wizard initialStep={5} />);
    const frame = await screen.findByTitle('Email to Ada Customer001');
    expect(frame.tagName).toBe('IFRAME');
    // An empty sandbox: no scripts, no same origin.
    expect(frame.getAttribute('sandbox')).toBe('');
    expect(frame.getAttribute('srcdoc')).toContain(hostile);
    expect(frame.getAttribute('srcdoc')).toContain("default-src 'none'");
    // Nothing of the owner's HTML is in the app's own page.
    const preview = screen.getByTestId('message-preview');
    expect(preview.querySelector('img, script')).toBeNull();
    expect(document.querySelector('img[onerror], script:not([src])')).toBeNull();
    expect(alert).not.toHaveBeenCalled();
    alert.mockRestore();
  });

  it('step 5 counts an emoji as two characters, as WhatsApp does', async () => {
    state.campaign = makeCampaign({
      messaging_config: { channels: ['whatsapp'], send_immediately: false },
    });
    const { user } = renderWithProviders(<Wizard initialStep={5} />);
    await heading(/Step 5 of 6/);
    await user.click(screen.getByRole('radio', { name: /^Free text only/ }));
    await user.click(screen.getByRole('textbox', { name: 'WhatsApp message' }));
    await user.paste('\u{1F600}'.repeat(801));
    expect(screen.getByTestId('whatsapp-counter')).toHaveTextContent('1,602 / 1,600');
    expect(screen.getByText(/2 over the limit/)).toBeInTheDocument();
  });

  it('step 5 shows the server’s error next to the field', async () => {
    state.campaign = makeCampaign({
      messaging_config: { channels: ['whatsapp'], send_immediately: false },
    });
    server.use(
      http.patch(`${API}/owner/campaigns/:id`, () =>
        HttpResponse.json(
          {
            error: 'InvalidInput',
            detail: 'messaging_config.whatsapp_message: the markup has an error on line 1',
            errors: [
              {
                field: 'messaging_config.whatsapp_message',
                message: 'the markup has an error on line 1',
              },
            ],
          },
          { status: 422 },
        ),
      ),
    );
    const { user } = renderWithProviders(<Wizard initialStep={5} />);
    await heading(/Step 5 of 6/);
    await user.click(screen.getByRole('radio', { name: /^Free text only/ }));
    await user.type(screen.getByRole('textbox', { name: 'WhatsApp message' }), 'Hi {{{{ oops');
    await user.click(next());
    expect(await screen.findByText('The markup has an error on line 1')).toBeInTheDocument();
  });

  it('step 5 picks an approved template by name and maps each placeholder', async () => {
    state.campaign = makeCampaign({
      messaging_config: { channels: ['whatsapp'], send_immediately: false },
    });
    const { user } = renderWithProviders(<Wizard initialStep={5} />);
    await heading(/Step 5 of 6/);
    // A template is the default: it reaches every customer.
    expect(screen.getByRole('radio', { name: /^Approved template/ })).toBeChecked();
    const picker = await screen.findByRole('combobox', { name: 'Template' });
    // Only approved templates can be picked; a rejected one is listed with its reason.
    expect(screen.queryByRole('option', { name: 'Free gift' })).toBeNull();
    expect(screen.getByText(/rejected by WhatsApp: INVALID_CATEGORY/)).toBeInTheDocument();
    await user.click(next());
    expect(await screen.findByText('Pick an approved template.')).toBeInTheDocument();

    await user.selectOptions(picker, 'Spring offer');
    const section = screen.getByRole('region', { name: 'Template Spring offer' });
    expect(section).toHaveTextContent('Hi {{1}}! Spring is here at {{2}}.');
    expect(section).toHaveTextContent('WhatsApp’s sample: “Camille”');
    await user.click(next());
    expect(await screen.findByText(/Choose what \{\{1\}\} is/)).toBeInTheDocument();

    await user.selectOptions(screen.getByRole('combobox', { name: '{{1}}' }), 'First name');
    await user.selectOptions(screen.getByRole('combobox', { name: '{{2}}' }), 'A text I write');
    await user.type(screen.getByRole('textbox', { name: 'Text for {{2}}' }), 'our Paris salon');
    await user.click(next());
    await heading(/Step 6 of 6/);
    expect(calls.patches.at(-1)?.messaging_config).toMatchObject({
      whatsapp_message: null,
      whatsapp_content_sid: `HX${'1'.repeat(32)}`,
      whatsapp_content_variables: { '1': '{{ first_name }}', '2': 'our Paris salon' },
    });
  });

  it('step 5 shows the template as the customer’s chat bubble', async () => {
    state.campaign = makeCampaign({
      messaging_config: {
        channels: ['whatsapp'],
        whatsapp_content_sid: `HX${'1'.repeat(32)}`,
        whatsapp_content_variables: { '1': '{{ first_name }}', '2': '{{ place_name }}' },
        send_immediately: false,
      },
    });
    server.use(
      http.post(`${API}/owner/campaigns/:id/preview`, () =>
        HttpResponse.json({
          customer: { user_id: 1, name: 'Ada Customer001' },
          email: null,
          whatsapp: {
            text: null,
            template: {
              content_sid: `HX${'1'.repeat(32)}`,
              name: 'Spring offer',
              text: 'Hi Ada! Spring is here at Studio Lumière.',
              buttons: ['Book now'],
              content_variables: { '1': 'Ada', '2': 'Studio Lumière' },
            },
            window_open: false,
            receives: 'template',
            skipped_reason: null,
          },
        }),
      ),
    );
    renderWithProviders(<Wizard initialStep={5} />);
    const bubble = await screen.findByTestId('whatsapp-preview');
    expect(bubble).toHaveTextContent('Hi Ada! Spring is here at Studio Lumière.');
    expect(bubble).toHaveTextContent('Book now');
    expect(bubble).toHaveTextContent('they get the template');
  });

  it('step 6 refuses a time in the past, then schedules after confirmation', async () => {
    state.recipients = 42;
    const onSent = vi.fn();
    const { user } = renderWithProviders(<Wizard initialStep={6} onSent={onSent} />);
    await heading(/Step 6 of 6/);
    expect(await screen.findByTestId('summary-recipients')).toHaveTextContent('42');
    await user.click(screen.getByLabelText(/^Schedule for later/));
    const when = screen.getByLabelText('Date and time');
    await user.type(when, '2020-01-01T09:00');
    await user.click(screen.getByRole('button', { name: 'Review and schedule' }));
    expect(await screen.findByText('Choose a time in the future.')).toBeInTheDocument();
    expect(screen.getByText(/The time is read in/)).toHaveTextContent('Europe/Paris');

    await user.clear(when);
    await user.type(when, '2099-06-01T09:00');
    await user.click(screen.getByRole('button', { name: 'Review and schedule' }));
    const dialog = await screen.findByRole('dialog', { name: 'Schedule this campaign?' });
    expect(dialog).toHaveTextContent('42 customers');
    expect(calls.patches.at(-1)?.messaging_config?.scheduled_send_time).toBe(
      '2099-06-01T09:00:00+02:00',
    );
    await user.click(screen.getByRole('button', { name: 'Schedule' }));
    await waitFor(() => expect(onSent).toHaveBeenCalled());
    expect(calls.sends).toEqual(['false']);
  });

  it('a sent campaign cannot be edited', async () => {
    state.campaign = makeCampaign({ status: 'sent', can_edit: false, can_send: false });
    renderWithProviders(<Wizard initialStep={1} />);
    expect(await screen.findByText(/can no longer be edited/)).toBeInTheDocument();
  });

  it('an archived draft is not opened: the API would refuse its changes', async () => {
    state.campaign = makeCampaign({
      archived_at: '2026-11-22T10:00:00Z',
      can_edit: false,
      can_send: false,
    });
    renderWithProviders(<Wizard initialStep={1} />);
    expect(await screen.findByText('This campaign is archived')).toBeInTheDocument();
    expect(screen.getByText(/Unarchive it on the campaign page/)).toBeInTheDocument();
    expect(screen.queryByRole('textbox', { name: 'Campaign name' })).toBeNull();
  });

  it('autosaves the valid fields while one cannot be saved, and says which', async () => {
    state.campaign = makeCampaign({
      // Free text (not a template): the WhatsApp message box is on the step.
      messaging_config: {
        channels: ['email', 'whatsapp'],
        whatsapp_message: 'Hello',
        send_immediately: false,
      },
    });
    const { user } = renderWithProviders(<Wizard initialStep={5} />);
    await heading(/Step 5 of 6/);
    await user.type(screen.getByRole('textbox', { name: 'Subject' }), 'Hi {{{{ fist_name }}');
    await user.type(screen.getByRole('textbox', { name: 'WhatsApp message' }), ' there');
    await waitFor(
      () => expect(calls.patches.at(-1)?.messaging_config?.whatsapp_message).toBe('Hello there'),
      { timeout: 3000 },
    );
    expect(calls.patches.at(-1)?.messaging_config?.email_subject).toBeNull();
    expect(screen.getByTestId('save-status')).toHaveTextContent(
      'Not saved: Subject has an unknown variable {{ fist_name }}',
    );
  });
});
