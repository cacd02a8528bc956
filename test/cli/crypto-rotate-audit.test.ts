import { afterEach, describe, expect, it, vi } from 'vitest';
import { scratchDirs } from '../helpers/scratch-dirs.js';
import { cli } from './in-process-cli.js';

// `warden crypto rotate` re-encrypts the encrypted columns under the active data key, the step
// after which an old key may be removed: a run that re-encrypted anything records
// `crypto.rotated` in the audit log, with counts and the key id only.

const tmp = scratchDirs('warden-cli-crypto-');
afterEach(() => vi.unstubAllEnvs());

describe('warden crypto rotate', () => {
  it('writes an audit event when it re-encrypts stored values', async () => {
    const dir = tmp();
    const created = await cli(dir, ['users', 'create', '--email', 'enc@example.com', '--generate-password']);
    expect(created.code, created.err.join('\n')).toBe(0);
    const before = await cli(dir, ['audit', 'query', '--limit', '500']);
    expect(before.code, before.err.join('\n')).toBe(0);

    const entry = (await cli(dir, ['crypto', 'keygen', '--format', 'aes-gcm', '--key-id', 'k2']))
      .out[0] as string;
    const rotated = await cli(dir, ['crypto', 'rotate'], '', { WARDEN_ENCRYPTION_KEY: entry });
    expect(rotated.code, rotated.err.join('\n')).toBe(0);
    // users.email of the one user was plaintext and is now sealed with k2.
    expect(rotated.out.join('\n')).toMatch(/users\.email: 1 rows, 1 re-encrypted with key k2/);

    const after = await cli(dir, ['audit', 'query', '--limit', '500'], '', { WARDEN_ENCRYPTION_KEY: entry });
    expect(after.code, after.err.join('\n')).toBe(0);
    expect(after.out.length).toBeGreaterThan(before.out.length);
  }, 60_000);

  it("keeps every column's count in the event, the signing keys' included", async () => {
    const dir = tmp();
    expect((await cli(dir, ['users', 'create', '--email', 'enc@example.com', '--generate-password'])).code).toBe(0);
    const signing = await cli(dir, ['keys', 'rotate-signing']);
    expect(signing.code, signing.err.join('\n')).toBe(0);
    const entry = (await cli(dir, ['crypto', 'keygen', '--format', 'aes-gcm', '--key-id', 'k2'])).out[0] as string;
    const rotated = await cli(dir, ['crypto', 'rotate'], '', { WARDEN_ENCRYPTION_KEY: entry });
    expect(rotated.code, rotated.err.join('\n')).toBe(0);
    const query = await cli(dir, ['audit', 'query', '--action', 'crypto.rotated'], '', { WARDEN_ENCRYPTION_KEY: entry });
    expect(query.code, query.err.join('\n')).toBe(0);
    const text = query.out.join('\n');
    expect(text).not.toContain('[REDACTED]');
    expect(text).toMatch(/\{"column":"private_key","rows":[1-9]\d*,"table":"signing_keys"\}/);
    expect(text).toMatch(/\{"column":"email","rows":1,"table":"users"\}/);
  }, 60_000);
});
