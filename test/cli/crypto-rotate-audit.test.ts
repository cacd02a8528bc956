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
});
