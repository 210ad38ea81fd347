import { screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { calls } from '@/testing/mocks/handlers';
import { renderWithProviders } from '@/testing/test-utils';

import { EmailSenderSettings } from './email-sender-settings';

describe('EmailSenderSettings', () => {
  it('saves an own sender address on a verified domain', async () => {
    const { user } = renderWithProviders(<EmailSenderSettings />);
    const input = await screen.findByLabelText('Send from this address');
    expect(screen.getByText(/An address on salon.example/)).toBeInTheDocument();

    await user.type(input, 'hello@salon.example');
    await user.click(screen.getByRole('button', { name: 'Save sender' }));
    expect(await screen.findByText('Sender saved.')).toBeInTheDocument();
  });

  it('says why an address is refused', async () => {
    const { user } = renderWithProviders(<EmailSenderSettings />);
    await user.type(await screen.findByLabelText('Send from this address'), 'me@gmail.example');
    await user.click(screen.getByRole('button', { name: 'Save sender' }));
    expect(await screen.findByText(/not a verified sending domain/)).toBeInTheDocument();
  });

  it('sets where replies to each place go', async () => {
    const { user } = renderWithProviders(<EmailSenderSettings />);
    const form = await screen.findByRole('form', { name: 'Studio Lumière' });
    await user.type(
      within(form).getByLabelText('Replies to Studio Lumière go to'),
      'contact@lumiere.example',
    );
    await user.click(within(form).getByRole('button', { name: 'Save' }));
    expect(await within(form).findByText('Saved')).toBeInTheDocument();
    expect(calls.replyTo).toEqual([[1, 'contact@lumiere.example']]);
  });
});
