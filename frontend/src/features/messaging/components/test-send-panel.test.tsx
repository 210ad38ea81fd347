import { screen } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';

import { API, calls } from '@/testing/mocks/handlers';
import { server } from '@/testing/setup-tests';
import { renderWithProviders } from '@/testing/test-utils';

import { TestSendPanel } from './test-send-panel';

describe('TestSendPanel', () => {
  it('sends a test on each channel and says where it went', async () => {
    const { user } = renderWithProviders(
      <TestSendPanel campaignId={7} channels={['email', 'whatsapp']} />,
    );
    await user.click(screen.getByRole('button', { name: 'Send me a test email' }));
    expect(await screen.findByText(/Test sent to demo@rebook.test/)).toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Send me a test WhatsApp' }));
    expect(await screen.findByText(/Test sent to \+33612345678/)).toBeInTheDocument();
    expect(calls.testSends).toEqual(['email', 'whatsapp']);
  });

  it('offers only the campaign’s channels', () => {
    renderWithProviders(<TestSendPanel campaignId={7} channels={['email']} />);
    expect(screen.queryByRole('button', { name: 'Send me a test WhatsApp' })).toBeNull();
  });

  it('shows why a test was refused', async () => {
    server.use(
      http.post(`${API}/owner/campaigns/:id/test-send`, () =>
        HttpResponse.json(
          {
            error: 'TooManyRequests',
            detail: 'You can send 10 tests an hour; try again in 12 minutes.',
          },
          { status: 429, headers: { 'Retry-After': '700' } },
        ),
      ),
    );
    const { user } = renderWithProviders(<TestSendPanel campaignId={7} channels={['email']} />);
    await user.click(screen.getByRole('button', { name: 'Send me a test email' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('10 tests an hour');
  });
});
