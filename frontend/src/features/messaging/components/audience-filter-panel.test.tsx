import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { useState } from 'react';
import { beforeEach, describe, expect, it } from 'vitest';

import { API, calls } from '@/testing/mocks/handlers';
import { server } from '@/testing/setup-tests';
import { renderWithProviders } from '@/testing/test-utils';
import type { AudienceFilters } from '@/types/campaign';

import { AudienceFilterPanel } from './audience-filter-panel';

let latest: { filters: AudienceFilters; savedId: number | null } = { filters: {}, savedId: null };

function Harness() {
  const [audience, setAudience] = useState(latest);
  return (
    <AudienceFilterPanel
      placeIds={[1, 2]}
      filters={audience.filters}
      savedId={audience.savedId}
      onChange={(filters, savedId = null) => {
        latest = { filters, savedId };
        setAudience(latest);
      }}
    />
  );
}

async function openFilters() {
  const rendered = renderWithProviders(<Harness />);
  await rendered.user.click(screen.getByText('Filter by booking history'));
  return rendered;
}

const services = () => screen.getByRole('group', { name: /Services booked/ });
const places = () => screen.getByRole('group', { name: /Visited at/ });
const categories = () => screen.getByRole('group', { name: /Categories booked/ });

describe('AudienceFilterPanel: services and places', () => {
  beforeEach(() => {
    latest = { filters: {}, savedId: null };
  });

  it("lists the owner's services by category and narrows by several of them", async () => {
    const { user } = await openFilters();
    const hair = await within(services()).findByRole('group', { name: 'Hair' });
    expect(
      within(hair)
        .getAllByRole('checkbox')
        .map((box) => box.closest('label')?.textContent),
    ).toEqual(['Colour', 'Cut & blow-dry']);
    expect(
      within(within(services()).getByRole('group', { name: 'Nails' })).getByRole('checkbox', {
        name: 'Manicure',
      }),
    ).toBeInTheDocument();

    await user.click(within(services()).getByRole('checkbox', { name: 'Colour' }));
    await user.click(within(services()).getByRole('checkbox', { name: 'Manicure' }));
    expect(latest.filters.service_ids).toEqual([2, 3]);
    await user.click(within(services()).getByRole('checkbox', { name: 'Colour' }));
    expect(latest.filters.service_ids).toEqual([3]);
    // Unticking the last one is no service filter at all.
    await user.click(within(services()).getByRole('checkbox', { name: 'Manicure' }));
    expect(latest.filters.service_ids).toBeNull();
    expect(screen.queryByRole('button', { name: 'Clear filters' })).not.toBeInTheDocument();
  });

  it("offers every one of the owner's places, not only the campaign's", async () => {
    const { user } = await openFilters();
    const boxes = await within(places()).findAllByRole('checkbox');
    expect(boxes.map((box) => box.closest('label')?.textContent)).toEqual([
      'Studio Lumière',
      'Glow Salon Shoreditch',
      'Bella Cucina Brooklyn',
    ]);
    await user.click(within(places()).getByRole('checkbox', { name: 'Bella Cucina Brooklyn' }));
    await user.click(within(places()).getByRole('checkbox', { name: 'Studio Lumière' }));
    expect(latest.filters.visited_place_ids).toEqual([3, 1]);
    expect(screen.getByRole('button', { name: 'Clear filters' })).toBeInTheDocument();
  });

  it('saves the services and places with the audience and ticks them when it is loaded', async () => {
    const { user } = await openFilters();
    await user.click(await within(services()).findByRole('checkbox', { name: 'Facial' }));
    await user.click(
      await within(places()).findByRole('checkbox', { name: 'Glow Salon Shoreditch' }),
    );
    await user.type(screen.getByLabelText('Save these filters as'), 'Facials in London');
    await user.click(screen.getByRole('button', { name: 'Save audience' }));
    await waitFor(() => expect(calls.audienceCreates).toHaveLength(1));
    expect(calls.audienceCreates[0]).toEqual({
      name: 'Facials in London',
      filters: { overdue_factor: 1.5, service_ids: [4], visited_place_ids: [2] },
    });

    await user.click(screen.getByRole('button', { name: 'Clear filters' }));
    expect(within(services()).getByRole('checkbox', { name: 'Facial' })).not.toBeChecked();
    expect(
      within(places()).getByRole('checkbox', { name: 'Glow Salon Shoreditch' }),
    ).not.toBeChecked();

    await user.click(await screen.findByRole('button', { name: /^Facials in London \(12\)/ }));
    expect(latest.savedId).toBe(1);
    expect(within(services()).getByRole('checkbox', { name: 'Facial' })).toBeChecked();
    expect(within(services()).getByRole('checkbox', { name: 'Colour' })).not.toBeChecked();
    expect(within(places()).getByRole('checkbox', { name: 'Glow Salon Shoreditch' })).toBeChecked();
  });

  it('ticks every category of an audience and narrows by several of them', async () => {
    // An audience of two categories, as saved through the API: both show, and both stay.
    latest = { filters: { categories: ['Hair', 'Skin'] }, savedId: null };
    const { user } = await openFilters();
    const boxes = await within(categories()).findAllByRole('checkbox');
    expect(boxes.map((box) => box.closest('label')?.textContent)).toEqual([
      'Hair',
      'Nails',
      'Skin',
    ]);
    expect(within(categories()).getByRole('checkbox', { name: 'Hair' })).toBeChecked();
    expect(within(categories()).getByRole('checkbox', { name: 'Skin' })).toBeChecked();

    await user.click(within(categories()).getByRole('checkbox', { name: 'Nails' }));
    expect(latest.filters.categories).toEqual(['Hair', 'Skin', 'Nails']);
    await user.click(within(categories()).getByRole('checkbox', { name: 'Hair' }));
    expect(latest.filters.categories).toEqual(['Skin', 'Nails']);
  });

  it('says so when the services or places cannot be loaded, instead of loading forever', async () => {
    server.use(
      http.get(`${API}/owner/services`, () => HttpResponse.json({}, { status: 500 })),
      http.get(`${API}/owner/places`, () => HttpResponse.json({}, { status: 500 })),
    );
    await openFilters();
    for (const group of [services, categories, places]) {
      expect(await within(group()).findByRole('alert')).toHaveTextContent(
        'These could not be loaded. Reload the page to try again.',
      );
    }
  });
});
