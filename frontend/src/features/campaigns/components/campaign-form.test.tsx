import { screen, waitFor } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { describe, expect, it, vi } from 'vitest';

import { API, calls } from '@/testing/mocks/handlers';
import { server } from '@/testing/setup-tests';
import { renderWithProviders } from '@/testing/test-utils';

import { CampaignForm } from './campaign-form';

describe('CampaignForm (offers)', () => {
  it('says what is missing, then creates the offer with numbers as numbers', async () => {
    const onSaved = vi.fn();
    const { user } = renderWithProviders(
      <CampaignForm type="price_reduction" open onClose={() => undefined} onSaved={onSaved} />,
    );
    const create = screen.getByRole('button', { name: 'Create campaign' });
    await user.click(create);
    expect(await screen.findByText('Give the campaign a name.')).toBeInTheDocument();
    expect(screen.getByText('Choose at least one place.')).toBeInTheDocument();

    await user.type(screen.getByLabelText('Name'), 'Winter 15 % off');
    await user.click(await screen.findByLabelText('Studio Lumière'));
    const discount = screen.getByLabelText('Discount (%)');
    await user.clear(discount);
    await user.type(discount, '95');
    await user.type(screen.getByLabelText('Valid from'), '2026-12-10');
    await user.type(screen.getByLabelText('Valid until'), '2026-12-01');
    await user.click(create);
    expect(await screen.findByText('Enter a whole percentage from 1 to 90.')).toBeInTheDocument();
    expect(screen.getByText('The end date must not be before the start date.')).toBeInTheDocument();
    expect(calls.creates).toHaveLength(0);

    await user.clear(discount);
    await user.type(discount, '15');
    await user.clear(screen.getByLabelText('Valid until'));
    await user.click(create);
    await waitFor(() => expect(onSaved).toHaveBeenCalled());
    expect(calls.creates).toEqual([
      {
        name: 'Winter 15 % off',
        description: null,
        place_ids: [1],
        config: { discount_percent: 15, valid_from: '2026-12-10' },
        campaign_type: 'price_reduction',
      },
    ]);
  });

  it('shows what the API refused beside its field', async () => {
    server.use(
      http.post(`${API}/owner/campaigns`, () =>
        HttpResponse.json(
          {
            error: 'ValidationError',
            detail: 'The request is not valid.',
            errors: [{ field: 'config.service_name', message: 'Too long for a service name.' }],
          },
          { status: 422 },
        ),
      ),
    );
    const { user } = renderWithProviders(
      <CampaignForm type="free_service" open onClose={() => undefined} onSaved={vi.fn()} />,
    );
    await user.type(screen.getByLabelText('Name'), 'Free blow-dry');
    await user.click(await screen.findByLabelText('Studio Lumière'));
    await user.type(screen.getByLabelText('Free service'), 'Blow-dry');
    await user.click(screen.getByRole('button', { name: 'Create campaign' }));
    expect(await screen.findByText('Too long for a service name.')).toBeInTheDocument();
    expect(screen.getByLabelText('Free service')).toHaveAttribute('aria-invalid', 'true');
  });
});
