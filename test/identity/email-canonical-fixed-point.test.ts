import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalEmail } from '../../src/identity/user-store.js';

// Canonicalising twice changes nothing, on any text: also when dropping the domain's trailing
// dot uncovers whitespace, or another single dot, that a second pass would remove.
describe('canonicalEmail is a fixed point on every input', () => {
  it('trims the whitespace a dropped trailing dot uncovers (shrunk counterexample "! .")', () => {
    expect(canonicalEmail(canonicalEmail('! .'))).toBe(canonicalEmail('! .'));
    expect(canonicalEmail('jo@example.com .')).toBe(canonicalEmail(canonicalEmail('jo@example.com .')));
    expect(canonicalEmail('jo@example.com. .')).toBe('jo@example.com');
  });

  it('holds for arbitrary text (property)', () => {
    const piece = fc.oneof(fc.string({ maxLength: 3, unit: 'grapheme' }), fc.constantFrom('a', '.', '@', ' ', '\u3002', 'xn--', 'bcea', '\u00a0', '\t'));
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }).map((p) => p.join('')), (raw) => {
        const once = canonicalEmail(raw);
        expect(canonicalEmail(once)).toBe(once);
      }),
      { numRuns: 1000 },
    );
  });
});
