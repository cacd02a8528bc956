import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { scratchDirs } from '../helpers/scratch-dirs.js';
import { cli, readerUser } from './in-process-cli.js';

// `warden keys import` refuses (exit 65, naming the line and the field) a field it does not know
// or cannot read: an expiry in epoch milliseconds or a misspelt `expiresAt` must not import a key
// that never expires.

const tmp = scratchDirs('warden-cli-import-');
afterEach(() => vi.unstubAllEnvs());

async function importOne(
  dir: string,
  owner: string,
  extra: Record<string, unknown>,
  key: string,
): Promise<{ code: number; expiresAt: unknown }> {
  const file = path.join(dir, `${key}.jsonl`);
  writeFileSync(
    file,
    `${JSON.stringify({ key, name: 'legacy', owner_id: owner, permissions: ['reports:read'], ...extra })}\n`,
  );
  const result = await cli(dir, ['keys', 'import', '--file', file]);
  const listed = await cli(dir, ['keys', 'list', '--owner', owner]);
  const id = listed.out.map((line) => line.split('\t')).find((cols) => cols[4] === 'legacy')?.[0];
  if (id === undefined) return { code: result.code, expiresAt: 'not imported' };
  const shown = await cli(dir, ['keys', 'show', id, '--json']);
  return {
    code: result.code,
    expiresAt: (JSON.parse(shown.out[0] as string) as { expires_at: unknown }).expires_at,
  };
}

describe('warden keys import with an expiry it cannot read', () => {
  it('does not import a never-expiring key from "expires_at" given as epoch milliseconds', async () => {
    const dir = tmp();
    const owner = await readerUser(dir, 'legacy@example.com');
    const result = await importOne(
      dir,
      owner,
      { expires_at: 1_798_761_600_000 },
      'legacyAAAA-0123456789abcdef0123456789ab',
    );
    // Either refused (exit 65) or imported with that expiry: never an active key without one.
    expect(result.expiresAt).not.toBeNull();
    if (result.expiresAt === 'not imported') expect(result.code).toBe(65);
  }, 60_000);

  it('does not import a never-expiring key from a misspelt expiry field ("expiresAt")', async () => {
    const dir = tmp();
    const owner = await readerUser(dir, 'legacy2@example.com');
    const result = await importOne(
      dir,
      owner,
      { expiresAt: '2027-01-01T00:00:00Z' },
      'legacyBBBB-0123456789abcdef0123456789ab',
    );
    expect(result.expiresAt).toBe('not imported');
    expect(result.code).toBe(65);
  }, 60_000);
});
