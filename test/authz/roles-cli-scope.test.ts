import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import { migrateToLatest, openDatabase } from '../../src/storage/index.js';
import { EXIT } from '../../src/cli/exit-codes.js';
import { runCliAgainst } from '../helpers/cli.js';
import { insertUser } from './fixtures.js';

/**
 * `warden roles permissions --scope` refuses a malformed scope (exit 2), as `roles grant|revoke`
 * and GET /v1/users/{id}/permissions?scope= do: a typo such as "acme " must not print the global
 * grants only, which would read as "this user holds nothing in acme".
 */
afterEach(() => vi.unstubAllEnvs());

it('roles permissions refuses a malformed --scope, as grant/revoke and the API do', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roles-cli-scope-'));
  try {
    const url = `sqlite:${path.join(dir, 'warden.db')}`;
    const storage = openDatabase(url);
    await migrateToLatest(storage);
    const user = await insertUser(storage.db);
    await storage.close();
    const db = { dir, url };
    const grant = await runCliAgainst(db, [
      'roles',
      'grant',
      '--user',
      user,
      '--role',
      'member',
      '--scope',
      'acme',
    ]);
    expect(grant.code).toBe(EXIT.ok);
    for (const scope of ['acme ', '']) {
      const shown = await runCliAgainst(db, ['roles', 'permissions', '--user', user, '--scope', scope]);
      expect(shown.code, JSON.stringify(scope)).toBe(EXIT.usage);
      expect(shown.err.join('\n')).toMatch(/scope/i);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
