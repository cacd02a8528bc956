import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { scratchDirs } from '../helpers/scratch-dirs.js';
import { cli, readerUser } from './in-process-cli.js';

// `keys create --expires-at` and `keys import`'s `expires_at` are RFC 3339 date-times with Z or
// an offset, as POST /v1/keys takes them: an impossible date (2030-02-31) or a time without a
// zone is refused (exit 2 / 65), never rolled over or read as local time.

const tmp = scratchDirs('warden-cli-expires-');
afterEach(() => vi.unstubAllEnvs());

describe('warden keys create --expires-at', () => {
  for (const value of ['2030-02-31T00:00:00Z', '2030-06-01T12:00']) {
    it(`refuses ${value} (exit 2) instead of issuing a key with another expiry`, async () => {
      const dir = tmp();
      const owner = await readerUser(dir, 'exp@example.com');
      const result = await cli(dir, [
        'keys',
        'create',
        '--name',
        'k',
        '--owner',
        owner,
        '--expires-at',
        value,
      ]);
      expect(result.out).toEqual([]);
      expect(result.code).toBe(2);
      expect((await cli(dir, ['keys', 'list'])).out).toEqual([]);
    }, 60_000);
  }
});

describe('warden keys import expires_at', () => {
  it('refuses an entry with an impossible date (exit 65) instead of importing it with a rolled-over expiry', async () => {
    const dir = tmp();
    const owner = await readerUser(dir, 'exp2@example.com');
    const file = path.join(dir, 'keys.jsonl');
    writeFileSync(
      file,
      `${JSON.stringify({ key: 'legacyCCCC-0123456789abcdef0123456789ab', owner_id: owner, expires_at: '2030-02-31T00:00:00Z' })}\n`,
    );
    const result = await cli(dir, ['keys', 'import', '--file', file]);
    expect(result.code).toBe(65);
    expect((await cli(dir, ['keys', 'list'])).out).toEqual([]);
  }, 60_000);
});
