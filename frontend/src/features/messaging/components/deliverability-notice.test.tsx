import { screen } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';

import { API } from '@/testing/mocks/handlers';
import { server } from '@/testing/setup-tests';
import { renderWithProviders } from '@/testing/test-utils';

import { DeliverabilityNotice } from './deliverability-notice';

const reply = (overrides: Record<string, unknown>) =>
  server.use(
    http.get(`${API}/owner/deliverability`, () =>
      HttpResponse.json({
        window_days: 30,
        emails: 1000,
        complaints: 2,
        complaint_rate: 0.002,
        warning_rate: 0.001,
        hold_rate: 0.003,
        warning: true,
        held: false,
        held_since: null,
        message: '0.20% of your emails were marked as spam over the last 30 days.',
        ...overrides,
      }),
    ),
  );

describe('DeliverabilityNotice', () => {
  it('warns when customers mark the emails as spam', async () => {
    reply({});
    renderWithProviders(<DeliverabilityNotice />);
    expect(await screen.findByText('Customers mark your emails as spam')).toBeInTheDocument();
    expect(screen.getByRole('status')).toHaveTextContent('0.20% of your emails');
  });

  it('says the emails are held', async () => {
    reply({ held: true, message: 'Your emails are on hold: too many customers…' });
    renderWithProviders(<DeliverabilityNotice />);
    expect(await screen.findByRole('alert')).toHaveTextContent('Your emails are on hold');
  });
});
