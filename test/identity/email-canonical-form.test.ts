import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalEmail, normaliseEmail } from '../../src/identity/user-store.js';

describe('canonicalEmail', () => {
  it('folds the dot equivalents of a domain name (U+3002, U+FF0E, U+FF61) to "."', () => {
    for (const dot of ['\u3002', '\uFF0E', '\uFF61']) expect(canonicalEmail(`jo@mail.example${dot}com`)).toBe('jo@mail.example.com');
    expect(canonicalEmail('jo@example.com\u3002')).toBe('jo@example.com');
  });

  it('lower-cases a punycode domain once decoded: Cherokee decodes to upper case, and both spellings are one mailbox', () => {
    expect(canonicalEmail('jo@xn--bcea.com')).toBe('jo@ꮻꮻ.com');
    expect(canonicalEmail('jo@ꮻꮻ.com')).toBe('jo@ꮻꮻ.com');
    expect(canonicalEmail(canonicalEmail('jo@xn--bcea.com'))).toBe('jo@ꮻꮻ.com');
  });

  it('leaves the local part alone (a dot equivalent there is another mailbox)', () => {
    expect(canonicalEmail('j\u3002o@example.com')).toBe('j\u3002o@example.com');
  });

  // Creation canonicalises more than once on its way to the store, login once: any input must
  // come out the same however often it is canonicalised, or an account could not be logged into
  // with the very address it was created with.
  it('is a fixed point: canonicalising twice changes nothing', () => {
    expect(canonicalEmail(canonicalEmail('jo@xn--bcher-kva.example\u3002'))).toBe(canonicalEmail('jo@xn--bcher-kva.example\u3002'));
    // 'bcea' after 'xn--' decodes to upper-case Cherokee (UTS #46 maps that script up).
    const piece = fc.constantFrom('a', 'B', 'é', 'ß', '.', '。', '．', '｡', 'xn--', 'bcher-kva', 'bcea', '-', 'ｅ', 'K', 'Ꮻ', 'ꮻ', ' ');
    const part = fc.array(piece, { minLength: 1, maxLength: 12 }).map((p) => p.join(''));
    fc.assert(
      fc.property(part, part, (local, domain) => {
        let once: string;
        try {
          // What is stored: only addresses creation accepts matter.
          once = normaliseEmail(`${local}@${domain}`);
        } catch {
          return;
        }
        expect(canonicalEmail(once)).toBe(once);
        expect(normaliseEmail(once)).toBe(once);
      }),
      { numRuns: 3000 },
    );
  });
});
