import { describe, expect, it } from 'vitest';

import { isoToZonedLocal, zonedLocalToIso } from './timezone';

describe('time zones', () => {
  it('reads a wall-clock time in the place’s zone, summer and winter', () => {
    expect(zonedLocalToIso('2026-12-01T09:30', 'Europe/Paris')).toBe('2026-12-01T09:30:00+01:00');
    expect(zonedLocalToIso('2026-07-01T09:30', 'Europe/Paris')).toBe('2026-07-01T09:30:00+02:00');
    expect(zonedLocalToIso('2026-07-01T09:30', 'America/New_York')).toBe(
      '2026-07-01T09:30:00-04:00',
    );
    expect(zonedLocalToIso('2026-07-01T09:30', 'Asia/Kolkata')).toBe('2026-07-01T09:30:00+05:30');
  });

  it('round-trips', () => {
    expect(isoToZonedLocal('2026-12-01T08:30:00Z', 'Europe/Paris')).toBe('2026-12-01T09:30');
  });
});
