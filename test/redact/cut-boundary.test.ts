import { describe, expect, it } from 'vitest';
import { createLineRedactor, defaultRedactor, redactText, redactValue } from '../../src/redact/index.js';

const MAX = 65_536; // the redactor's default maxStringLength
const PASSWORD = 'Zq8rVt3LmW9pXs2KaB7c';

/** `prefix` padded with words so that the 64 KiB cut falls `into` characters after it. */
function cutInside(prefix: string, whole: string, into: number): string {
  const pad = 'word '.repeat(Math.ceil(MAX / 5)).slice(0, MAX - prefix.length - into);
  return `${pad}${prefix}${whole} and more text after it`;
}

// docs/redaction.md: beyond the bounds the engine fails closed (the rest is replaced, never
// passed through). The text kept before the 64 KiB cut ends before the token the cut splits:
// scanned alone, that token's first part would lack what its pattern needs (the `@` after a
// URL's password, a token's length) and be written out in clear.
describe('a secret split by the 64 KiB cut is not partly written out', () => {
  it('the password of a database URL cut before its "@"', () => {
    const text = cutInside('postgres://app:', `${PASSWORD}@db.internal:5432/warden`, 12);
    const out = redactText(text);
    expect(out).toContain('[REDACTED:truncated]');
    expect(out).not.toContain(PASSWORD.slice(0, 12));
  });

  it('a refresh token cut after 19 of its characters', () => {
    const token = `wrt_${'Ab3'.repeat(15)}`;
    const text = cutInside(' ', token, 23);
    const out = redactText(text);
    expect(out).not.toContain(token.slice(0, 23));
  });

  it('the same in a string field of a log object and in `warden redact`', () => {
    const text = cutInside('postgres://app:', `${PASSWORD}@db.internal:5432/warden`, 12);
    expect(JSON.stringify(redactValue({ detail: text }))).not.toContain(PASSWORD.slice(0, 12));
    expect(createLineRedactor(defaultRedactor).line(text)).not.toContain(PASSWORD.slice(0, 12));
  });
});
