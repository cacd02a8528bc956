import { describe, expect, it } from 'vitest';
import { createLineRedactor, defaultRedactor, redactText, redactValue } from '../../src/redact/index.js';

// `gpg --export-secret-keys --armor` writes `-----BEGIN PGP PRIVATE KEY BLOCK-----`. The
// private_key pattern (and the line redactor's BEGIN/END tracking) only knows headers that end
// in `PRIVATE KEY-----`, so an armored PGP secret key passes through every path untouched: its
// 64-character base64 body lines match no other pattern.
const BODY = [
  'lQOYBGZ3d2kBCADK7pQm1x4vT9bR2sL8wN3yE6hJ0cF5uA7gK2zP4oM9iV1tX3rB',
  'qS6dW8eY0fH2jL4nP6rT8vX0zB2dF4hJ6lN8pR0tV2xZ4bD6fH8jL0nP2rT4vX6z',
  'B8dF0hJ2lN4pR6tV8xZ0bD2fH4jL6nP8rT0vX2zB4dF6hJ8lN0pR2tV4xZ6bD8fH',
  '=Xk9q',
];
const ARMORED = [
  '-----BEGIN PGP PRIVATE KEY BLOCK-----',
  '',
  ...BODY,
  '-----END PGP PRIVATE KEY BLOCK-----',
].join('\n');

describe('armored PGP private keys', () => {
  it('redactText removes the key material', () => {
    const out = redactText(`exported: ${ARMORED}`);
    for (const line of BODY) expect(out).not.toContain(line);
  });

  it('redactValue removes it from a logged field', () => {
    const out = JSON.stringify(redactValue({ key_material: ARMORED.replace(/\n/g, '\r\n'), note: ARMORED }));
    for (const line of BODY) expect(out).not.toContain(line);
  });

  it('warden redact (the line redactor) drops the body lines up to the END line', () => {
    const lines = createLineRedactor(defaultRedactor);
    const out = [...ARMORED.split('\n'), 'after the key']
      .map((l) => lines.line(l))
      .filter((l) => l !== undefined);
    for (const line of BODY) expect(out.join('\n')).not.toContain(line);
    expect(out).toContain('after the key');
  });
});
