import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalEmail, normaliseEmail } from '../../src/identity/user-store.js';

// Properties of email normalisation: its output is a fixed point of both canonicalEmail and
// normaliseEmail, and it fails only with a ValidationError.

describe('email normalisation', () => {
  it('a normalised address is a fixed point of canonicalEmail and normaliseEmail; failures are ValidationError', () => {
    const piece = fc.oneof(
      fc.string({ maxLength: 3, unit: 'grapheme' }),
      fc.constantFrom(
        'a',
        '.',
        '\u3002',
        '\uff0e',
        'xn--',
        'bcea',
        'bcher-kva',
        '-',
        'İ',
        'ß',
        'ǅ',
        'ﬀ',
        'Ꮻ',
        'K',
        'ς',
        '㎏',
        '.com',
      ),
    );
    const part = fc.array(piece, { maxLength: 6 }).map((p) => p.join(''));
    fc.assert(
      fc.property(part, part, (l, d) => {
        let n: string | undefined;
        try {
          n = normaliseEmail(`${l}@${d}`);
        } catch (e) {
          expect((e as Error).name).toBe('ValidationError');
        }
        if (n !== undefined) {
          expect(canonicalEmail(n)).toBe(n);
          expect(normaliseEmail(n)).toBe(n);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
