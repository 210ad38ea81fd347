import { screen, waitFor, within } from '@testing-library/react';
import { useState } from 'react';
import { beforeEach, describe, expect, it } from 'vitest';

import { calls } from '@/testing/mocks/handlers';
import { renderWithProviders } from '@/testing/test-utils';

import { emptySelection, toRequests, type Selection } from '../lib/selection';
import { CustomerSelector } from './customer-selector';

let latest: Selection = emptySelection();

function Harness() {
  const [selection, setSelection] = useState<Selection>(emptySelection());
  const onChange = (next: Selection) => {
    latest = next;
    setSelection(next);
  };
  return <CustomerSelector placeIds={[1, 2]} value={selection} onChange={onChange} />;
}

const count = () => screen.getByTestId('selection-count');

// 120 customers: 90 with email (every 4th has none), 71 with a valid number (every 3rd has
// none, 9 an invalid one).
describe('CustomerSelector', () => {
  beforeEach(() => {
    latest = emptySelection();
  });

  it('lists the first page and counts nothing selected', async () => {
    renderWithProviders(<Harness />);
    await waitFor(() => expect(count()).toHaveTextContent('0 of 120 customers selected'));
    expect(screen.getAllByRole('checkbox', { name: /^Select .*Customer/ })).toHaveLength(25);
    expect(screen.getByText('Page 1 of 5 · 120 customers')).toBeInTheDocument();
  });

  it('selects all matching customers across pages without listing their ids', async () => {
    const { user } = renderWithProviders(<Harness />);
    await waitFor(() => expect(count()).toHaveTextContent('0 of 120'));
    await user.click(screen.getByRole('button', { name: 'Select all' }));
    await waitFor(() => expect(count()).toHaveTextContent('120 of 120 customers selected'));

    // Unticking one on another page excludes it.
    await user.click(screen.getByRole('button', { name: 'Next page' }));
    await waitFor(() => expect(screen.getByText(/Page 2 of 5/)).toBeInTheDocument());
    // Page 2 is fetched after page 1's cursor, not by skipping rows.
    expect(calls.customers.some((p) => p.get('page') === '2' && p.get('cursor') === 'c25')).toBe(
      true,
    );
    const box = screen.getAllByRole('checkbox', { name: /^Select .*Customer/ })[0]!;
    expect(box).toBeChecked();
    await user.click(box);
    await waitFor(() => expect(count()).toHaveTextContent('119 of 120 customers selected'));
    expect(toRequests(latest)).toEqual([
      { select_all: { filter_by: 'all', search: null, exclude_user_ids: [26] } },
    ]);

    await user.click(screen.getByRole('button', { name: 'Deselect all' }));
    await waitFor(() => expect(count()).toHaveTextContent('0 of 120 customers selected'));
  });

  it('applies a preset in one click, says why each customer matches, and selects them', async () => {
    const { user } = renderWithProviders(<Harness />);
    await waitFor(() => expect(count()).toHaveTextContent('0 of 120'));
    await user.click(
      await screen.findByRole('button', { name: /Haven't visited in 90 days \(60\)/ }),
    );
    await waitFor(() => expect(screen.getByText('Page 1 of 3 · 60 customers')).toBeInTheDocument());
    expect(screen.getAllByTestId('match-reasons')[0]).toHaveTextContent(/last visit \d+ days ago/);
    expect(calls.customers.at(-1)?.get('no_visit_within_days')).toBe('90');

    await user.click(screen.getByRole('button', { name: 'Select all 60 in this audience' }));
    await waitFor(() => expect(count()).toHaveTextContent('60 of 120 customers selected'));
    expect(toRequests(latest)).toEqual([
      {
        select_all: { filter_by: 'all', search: null, exclude_user_ids: [] },
        audience: { no_visit_within_days: 90, overdue_factor: 1.5 },
        saved_audience_id: null,
      },
    ]);
  });

  it('narrows the list to a service booked, says so, and selects them', async () => {
    const { user } = renderWithProviders(<Harness />);
    await waitFor(() => expect(count()).toHaveTextContent('0 of 120'));
    await user.click(screen.getByText('Filter by booking history'));
    const services = screen.getByRole('group', { name: /Services booked/ });
    await user.click(await within(services).findByRole('checkbox', { name: 'Colour' }));
    // Every third customer booked a colour.
    await waitFor(() => expect(screen.getByText('Page 1 of 2 · 40 customers')).toBeInTheDocument());
    expect(calls.customers.at(-1)?.getAll('service_ids')).toEqual(['2']);
    expect(screen.getAllByTestId('match-reasons')[0]).toHaveTextContent('booked Colour');

    await user.click(screen.getByRole('button', { name: 'Select all 40 in this audience' }));
    await waitFor(() => expect(count()).toHaveTextContent('40 of 120 customers selected'));
    expect(toRequests(latest)).toEqual([
      {
        select_all: { filter_by: 'all', search: null, exclude_user_ids: [] },
        audience: { service_ids: [2], overdue_factor: 1.5 },
        saved_audience_id: null,
      },
    ]);
  });

  it('selects those with an email, or with a phone', async () => {
    const { user } = renderWithProviders(<Harness />);
    await waitFor(() => expect(count()).toHaveTextContent('0 of 120'));
    await user.click(screen.getByRole('button', { name: 'Select with email' }));
    await waitFor(() => expect(count()).toHaveTextContent('90 of 120 customers selected'));
    // Customer 4 has no email: shown unticked.
    expect(screen.getByRole('checkbox', { name: 'Select Dan Customer004' })).not.toBeChecked();
    expect(screen.getByRole('checkbox', { name: 'Select Ada Customer001' })).toBeChecked();
    await user.click(screen.getByRole('button', { name: 'Select with phone' }));
    await waitFor(() => expect(count()).toHaveTextContent('71 of 120 customers selected'));
  });

  it('says a number is invalid and lists the places where each customer booked', async () => {
    renderWithProviders(<Harness />);
    await waitFor(() => expect(count()).toHaveTextContent('0 of 120'));
    const row = (name: string) =>
      within(screen.getByRole('checkbox', { name: `Select ${name}` }).closest('tr')!);
    // Customer 7 has an invalid number, 3 none, 1 a valid one (masked).
    expect(row('Ada Customer007').getByText('Invalid number')).toBeInTheDocument();
    expect(row('Cleo Customer003').getByText('No phone')).toBeInTheDocument();
    expect(row('Ada Customer001').getByText('•••••••0178')).toBeInTheDocument();
    expect(row('Eve Customer005').getByText('Salon London, Salon Paris')).toBeInTheDocument();
    expect(row('Ada Customer001').getByText('Salon Paris')).toBeInTheDocument();
    expect(screen.getByRole('columnheader', { name: 'Places' })).toBeInTheDocument();
    expect(screen.queryByText(/^•+$/)).not.toBeInTheDocument();
  });

  it('ticks customers one by one and a whole page', async () => {
    const { user } = renderWithProviders(<Harness />);
    await waitFor(() => expect(count()).toHaveTextContent('0 of 120'));
    await user.click(screen.getByRole('checkbox', { name: 'Select Ada Customer001' }));
    await user.click(screen.getByRole('checkbox', { name: 'Select Ben Customer002' }));
    expect(count()).toHaveTextContent('2 of 120 customers selected');
    await user.click(screen.getByRole('checkbox', { name: 'Select every customer on this page' }));
    expect(count()).toHaveTextContent('25 of 120 customers selected');
    expect(toRequests(latest)).toHaveLength(1);
  });

  it('debounces the search and filters on the server', async () => {
    const { user } = renderWithProviders(<Harness />);
    await waitFor(() => expect(count()).toHaveTextContent('0 of 120'));
    const before = calls.customers.length;
    await user.type(screen.getByLabelText('Search customers'), 'Customer01');
    await waitFor(() => expect(screen.getByText(/Page 1 of 1 · 10 customers/)).toBeInTheDocument());
    const searches = calls.customers.slice(before).filter((p) => p.get('search'));
    // One request for the whole word (plus the count of matches for "select all"), not one per key.
    expect(new Set(searches.map((p) => p.get('search')))).toEqual(new Set(['Customer01']));
    const table = screen.getByRole('table');
    expect(within(table).getAllByRole('row')).toHaveLength(11);

    await user.click(screen.getByRole('button', { name: /Select all 10 matching/ }));
    await waitFor(() => expect(count()).toHaveTextContent('10 of 120 customers selected'));
  });

  it('filters by contact data', async () => {
    const { user } = renderWithProviders(<Harness />);
    await waitFor(() => expect(count()).toHaveTextContent('0 of 120'));
    await user.selectOptions(screen.getByLabelText('Show'), 'has_phone');
    await waitFor(() => expect(screen.getByText(/· 71 customers/)).toBeInTheDocument());
    expect(calls.customers.at(-1)?.get('filter_by')).toBe('has_phone');
    expect(calls.customers.at(-1)?.getAll('place_ids')).toEqual(['1', '2']);
  });

  it('never offers to select 0 matching, and says when a selection is replaced', async () => {
    const { user } = renderWithProviders(<Harness />);
    await waitFor(() => expect(count()).toHaveTextContent('0 of 120'));
    await user.click(screen.getByRole('button', { name: 'Select all' }));
    await waitFor(() => expect(count()).toHaveTextContent('120 of 120 customers selected'));

    await user.type(screen.getByLabelText('Search customers'), 'nobody-at-all');
    const none = await screen.findByRole('button', {
      name: 'Select all 0 matching “nobody-at-all”',
    });
    expect(none).toBeDisabled();
    expect(count()).toHaveTextContent('120 of 120 customers selected');

    await user.clear(screen.getByLabelText('Search customers'));
    await user.click(await screen.findByRole('button', { name: 'Select with email' }));
    await waitFor(() => expect(count()).toHaveTextContent('90 of 120 customers selected'));
    expect(screen.getByText('Replaced a selection of 120 customers.')).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Undo' }));
    await waitFor(() => expect(count()).toHaveTextContent('120 of 120 customers selected'));
  });
});
