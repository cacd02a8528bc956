import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodePositionCursor,
  decodeSequenceCursor,
  encodePositionCursor,
  encodeSequenceCursor,
} from '../../src/storage/keyset-cursor.js';

// Properties of list cursors: position and sequence cursors round-trip, and any other string
// is a ValidationError.

describe('list cursors', () => {
  it('round-trip, and anything else is a ValidationError', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('k' as const, 'u' as const, 'c' as const),
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        fc.stringMatching(/^[\x21-\x7e]{1,100}$/),
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        fc.string({ maxLength: 40 }),
        (tag, at, id, seq, junk) => {
          expect(decodePositionCursor(tag, encodePositionCursor(tag, { createdAt: at, id }))).toEqual({
            createdAt: at,
            id,
          });
          expect(decodeSequenceCursor('s', encodeSequenceCursor('s', seq))).toBe(seq);
          for (const decode of [
            () => decodePositionCursor(tag, junk),
            () => decodeSequenceCursor('s', junk),
          ]) {
            try {
              decode();
            } catch (e) {
              expect((e as Error).name).toBe('ValidationError');
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
