import { describe, expect, it } from 'vitest';
import { timeRange } from '../../src/audit/audit-query.js';

/**
 * `since`/`until` select the events a SIEM job exports: a bound Warden would read some other
 * way (V8's Date.parse reads "-1" as 2001, rolls 2026-02-31 into March, and a time without
 * offset as the server's local time) must be refused, not quietly become another range.
 */
describe('since/until are parsed strictly', () => {
  it.each(['-1', 'x 1', 'foo 2026', '2026-02-31T00:00:00Z', 'Dec 25 2026', '2026-12-01T10:00:00', '2026-13-01', '2026-12-01T24:00:00Z', '2026-12-01T10:00:00+25:00'])('refuses since=%j', (since) => {
    expect(() => timeRange({ since }, Date.now())).toThrow(/since must be/);
    expect(() => timeRange({ since }, Date.now())).toThrow(expect.objectContaining({ code: 'validation_failed', fields: { field: 'since' } }));
  });

  it.each([
    ['1764547200000', 1_764_547_200_000],
    ['2025-12-01', Date.UTC(2025, 11, 1)],
    ['2025-12-01T00:00:00Z', Date.UTC(2025, 11, 1)],
    ['2025-12-01t01:30:00.250+01:30', Date.UTC(2025, 11, 1, 0, 0, 0, 250)],
    ['2024-02-29 12:00:00z', Date.UTC(2024, 1, 29, 12)],
  ])('reads since=%j as %d', (since, expected) => {
    expect(timeRange({ since }, Date.now()).since).toBe(expected);
  });

  it('refuses a range that ends where or before it starts (an empty page would hide the mistake)', () => {
    const error = expect.objectContaining({ code: 'validation_failed', fields: { field: 'until' } });
    expect(() => timeRange({ since: '2026-12-02T00:00:00Z', until: '2026-12-01T00:00:00Z' }, Date.now())).toThrow(error);
    expect(() => timeRange({ hours: 1, until: '2020-01-01T00:00:00Z' }, Date.now())).toThrow(error);
    // until is exclusive: the same instant for both is empty too; one millisecond more is not.
    expect(() => timeRange({ since: '2026-12-01T00:00:00Z', until: '2026-12-01T00:00:00Z' }, Date.now())).toThrow(error);
    expect(timeRange({ since: '1764547200000', until: '1764547200001' }, Date.now())).toEqual({ since: 1_764_547_200_000, until: 1_764_547_200_001 });
  });
});
