import { afterEach, describe, expect, it, vi } from 'vitest';
import { scratchDirs } from '../helpers/scratch-dirs.js';
import { cli, readerUser } from './in-process-cli.js';

// The CLI's rotation `--grace` is bounded as the HTTP API's is: at most 365 days for an API key
// and 30 days for an OAuth client; beyond is a usage error (exit 2) and nothing is rotated.

const tmp = scratchDirs('warden-cli-grace-');
afterEach(() => vi.unstubAllEnvs());

describe('rotation --grace beyond what the HTTP API accepts', () => {
  it('keys rotate --grace 400d is a usage error (exit 2), the old key is not kept for 400 days', async () => {
    const dir = tmp();
    const owner = await readerUser(dir, 'grace@example.com');
    const created = await cli(dir, ['keys', 'create', '--name', 'k', '--owner', owner, '--json']);
    const id = (JSON.parse(created.out[0] as string) as { id: string }).id;
    const rotated = await cli(dir, ['keys', 'rotate', id, '--grace', '400d']);
    expect(rotated.out).toEqual([]);
    expect(rotated.code).toBe(2);
  }, 60_000);

  it('clients rotate --grace 400d is a usage error (exit 2), the old secret is not kept for 400 days', async () => {
    const dir = tmp();
    const owner = await readerUser(dir, 'grace2@example.com');
    const created = await cli(dir, [
      'clients',
      'create',
      '--name',
      'c',
      '--owner',
      owner,
      '--scope',
      'keys:read',
    ]);
    expect(created.code, created.err.join('\n')).toBe(0);
    const clientId = (created.out[0] as string).replace('client_id=', '');
    const rotated = await cli(dir, ['clients', 'rotate', clientId, '--grace', '400d']);
    expect(rotated.out).toEqual([]);
    expect(rotated.code).toBe(2);
    const shown = JSON.parse((await cli(dir, ['clients', 'show', clientId])).out.join('\n')) as {
      previous_secret_expires_at: string | null;
    };
    expect(shown.previous_secret_expires_at).toBeNull();
  }, 60_000);
});
