import { describe, expect, it } from 'vitest';

import { makeCustomers } from '@/testing/mocks/data';

import {
  emptySelection,
  isSelected,
  selectAllMatching,
  selectedCount,
  setMany,
  toggleCustomer,
  toRequests,
} from './selection';

const customers = makeCustomers(12);
const [withEmail, , , noEmail] = [customers[0]!, customers[1]!, customers[2]!, customers[3]!];

describe('selection by ids', () => {
  it('counts and sends the ids picked one by one', () => {
    let s = emptySelection();
    s = toggleCustomer(s, customers[0]!, true);
    s = toggleCustomer(s, customers[1]!, true);
    s = toggleCustomer(s, customers[0]!, false);
    expect(selectedCount(s, undefined)).toBe(1);
    expect(toRequests(s)).toEqual([{ user_ids: [2] }]);
  });

  it('selects and clears a whole page', () => {
    const page = customers.slice(0, 5);
    const s = setMany(emptySelection(), page, true);
    expect(selectedCount(s, undefined)).toBe(5);
    expect(selectedCount(setMany(s, page, false), undefined)).toBe(0);
  });
});

describe('select all matching (resolved on the server)', () => {
  it('counts the server total minus exclusions, plus extras', () => {
    let s = selectAllMatching({ filterBy: 'has_email', search: '' });
    expect(selectedCount(s, 200_000)).toBe(200_000);
    s = toggleCustomer(s, withEmail, false);
    expect(selectedCount(s, 200_000)).toBe(199_999);
    // A customer without email is outside the criteria: ticking adds them by id.
    s = toggleCustomer(s, noEmail, true);
    expect(selectedCount(s, 200_000)).toBe(200_000);
    expect(isSelected(s, noEmail)).toBe(true);
    expect(isSelected(s, withEmail)).toBe(false);
  });

  it('never sends every id: one filter with exclusions, then the extras', () => {
    let s = selectAllMatching({ filterBy: 'has_email', search: '  ada ' });
    s = toggleCustomer(s, withEmail, false);
    s = toggleCustomer(s, noEmail, true);
    expect(toRequests(s)).toEqual([
      { select_all: { filter_by: 'has_email', search: 'ada', exclude_user_ids: [1] } },
      { user_ids: [4] },
    ]);
  });

  it('shows rows outside the filter as unticked', () => {
    const s = selectAllMatching({ filterBy: 'has_email', search: '' });
    expect(isSelected(s, noEmail)).toBe(false);
    expect(isSelected(s, withEmail)).toBe(true);
  });
});
