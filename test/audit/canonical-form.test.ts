import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalEvent, hashEvent, stableStringify } from '../../src/audit/canonical-form.js';

const text = fc.option(fc.string({ maxLength: 40 }), { nil: null });

describe('audit canonical form', () => {
  it('is the sorted-key JSON of every column (the fast path equals the generic one)', () => {
    fc.assert(
      fc.property(fc.uuid(), fc.nat(), fc.nat(), fc.string({ maxLength: 30 }), text, text, text, (id, seq, at, action, entityId, ip, details) => {
        const event = { id, seq, occurred_at: at, action, actor: 'a"b\\c', entity_type: null, entity_id: entityId, outcome: 'success', ip, user_agent: null, request_id: null, details, prev_hash: 'f'.repeat(64) };
        const canonical = canonicalEvent(event);
        expect(canonical).toBe(stableStringify({ v: 1, ...event }));
        expect(JSON.parse(canonical)).toMatchObject({ id, seq });
      }),
    );
  });

  it('changes the hash when any column changes', () => {
    const event = { id: 'e1', seq: 1, occurred_at: 5, action: 'auth.logout', actor: 'u1', entity_type: null, entity_id: null, outcome: 'success', ip: null, user_agent: null, request_id: null, details: null, prev_hash: '0'.repeat(64) };
    const base = hashEvent(event);
    for (const change of [{ seq: 2 }, { occurred_at: 6 }, { actor: 'u2' }, { ip: '' }, { details: '{}' }, { prev_hash: '1'.repeat(64) }]) {
      expect(hashEvent({ ...event, ...change })).not.toBe(base);
    }
    expect(stableStringify({ b: [1, { d: 1, c: undefined }], a: null })).toBe('{"a":null,"b":[1,{"d":1}]}');
  });
});
