import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalEvent, stableStringify } from '../../src/audit/canonical-form.js';

// Properties of the audit canonical form: different events never give the same bytes, and it
// equals the generic sorted-key JSON.

describe('audit canonical form', () => {
  const str = fc.option(
    fc.string({ maxLength: 6, unit: fc.constantFrom('a', '"', '\\', ',', ':', 'null', '\u2028', '\ud800') }),
    { nil: null },
  );
  const ev = fc.record({
    id: fc.string({ maxLength: 3 }),
    seq: fc.nat(5),
    occurred_at: fc.nat(5),
    action: fc.string({ maxLength: 3 }),
    actor: fc.string({ maxLength: 3 }),
    entity_type: str,
    entity_id: str,
    outcome: fc.string({ maxLength: 3 }),
    ip: str,
    user_agent: str,
    request_id: str,
    details: str,
    prev_hash: fc.string({ maxLength: 3 }),
  });
  it('is injective and equals the generic sorted-key JSON', () => {
    fc.assert(
      fc.property(ev, ev, (a, b) => {
        if (canonicalEvent(a) === canonicalEvent(b)) expect(a).toEqual(b);
        expect(canonicalEvent(a)).toBe(stableStringify({ v: 1, ...a }));
      }),
      { numRuns: 1000 },
    );
  });
});
