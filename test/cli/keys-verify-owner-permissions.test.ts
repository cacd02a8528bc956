import { afterEach, describe, expect, it, vi } from 'vitest';
import { scratchDirs } from '../helpers/scratch-dirs.js';
import { cli, readerUser } from './in-process-cli.js';

// `warden keys verify --permission p` answers what the service answers: the key must carry p and
// its owner must still hold it, as for POST /v1/keys/verify and every guarded route.

const tmp = scratchDirs('warden-cli-verify-');
afterEach(() => vi.unstubAllEnvs());

describe('warden keys verify --permission', () => {
  it('refuses (exit 1) a key whose owner no longer holds the permission, as the service does', async () => {
    const dir = tmp();
    const owner = await readerUser(dir, 'demoted@example.com');
    const created = await cli(dir, [
      'keys',
      'create',
      '--name',
      'reports',
      '--owner',
      owner,
      '--permission',
      'reports:read',
    ]);
    expect(created.code, created.err.join('\n')).toBe(0);
    const key = created.out[0] as string;

    // While the owner holds reports:read, the key is valid for it.
    expect((await cli(dir, ['keys', 'verify', '--permission', 'reports:read'], `${key}\n`)).code).toBe(0);

    // The owner is demoted: the service now refuses the key for reports:read.
    const revoked = await cli(dir, ['roles', 'revoke', '--user', owner, '--role', 'reader']);
    expect(revoked.code, revoked.err.join('\n')).toBe(0);

    const verified = await cli(dir, ['keys', 'verify', '--permission', 'reports:read'], `${key}\n`);
    expect(verified.out.join('\n')).not.toMatch(/^valid/m);
    expect(verified.code).toBe(1);
  }, 60_000);
});
