import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/index.js';
import { assessSecretStrength } from '../../src/config/secret-strength.js';
import { ConfigError } from '../../src/errors/index.js';

/** Output of `openssl rand -base64 48`, the command the docs recommend. */
const STRONG = '4OnucoqIGpmY+x1sMt63GVIJj9YInmlG3iGujPZ1EEEMJOEA7Rl6gBtYWUti2Xq3';

/** Bytes 0x00, 0x01, … — the FIPS-197 / RFC test-vector key that every tutorial copies. */
const counting = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => i));

/** 16 fixed bytes written twice: 16 bytes of entropy however they are encoded. */
const HALF = Buffer.from('9c1f0e5ad2774b3e8a61c0f4d95b2e17', 'hex');
const DOUBLED = Buffer.concat([HALF, HALF]);

function productionProblems(env: Record<string, string>): string[] {
  try {
    loadSettings({
      env: { WARDEN_ENV: 'production', ...env },
      cwd: mkdtempSync(path.join(os.tmpdir(), 'warden-strength-')),
      envFile: false,
    });
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

/**
 * The estimate looks for runs and repeats in the *characters* of the encoded value only. In
 * base64 the 6-bit groups do not line up with bytes, so a counting byte sequence or a repeated
 * 16-byte block shows no character-level structure and scores as a full-strength random key.
 */
describe('secret strength looks at the structure of the decoded bytes too', () => {
  it.each([
    ['base64url of bytes 00..1f (the AES test-vector key)', counting(32).toString('base64url')],
    ['hex of bytes 00..1f', counting(32).toString('hex')],
    ['base64 of bytes 00..2f', counting(48).toString('base64')],
    ['base64url of one 16-byte block written twice', DOUBLED.toString('base64url')],
  ])('rates %s well below 32 bytes', (_name, value) => {
    expect(assessSecretStrength(value).bytes).toBeLessThan(32);
  });

  it('production refuses WARDEN_ENCRYPTION_KEY = the counting test key', () => {
    const problems = productionProblems({
      WARDEN_SECRET_KEY: STRONG,
      WARDEN_ENCRYPTION_KEY: `k1:${counting(32).toString('base64url')}`,
    });
    expect(problems.some((p) => p.startsWith('WARDEN_ENCRYPTION_KEY (key k1)'))).toBe(true);
  });

  it('production refuses WARDEN_SECRET_KEY = base64 of bytes 00..2f', () => {
    const problems = productionProblems({ WARDEN_SECRET_KEY: counting(48).toString('base64') });
    expect(problems.some((p) => p.startsWith('WARDEN_SECRET_KEY is too weak'))).toBe(true);
  });
});
