import { describe, expect, it } from 'vitest';
import { migrateToLatest, openDatabase } from '../../src/storage/index.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';
import { runWarden } from '../helpers/cli.js';
import { createTestDatabase } from '../helpers/databases.js';
import { insertUser } from './fixtures.js';

// SQLite only: the CLI runs `migrateToLatest`, and on PostgreSQL Kysely's Migrator (no
// migrationTableSchema) looks for its tables in every schema, so parallel test schemas make it
// flaky (storage_unavailable). The service logic is covered on both databases elsewhere.
describe('warden roles (CLI, compiled) [sqlite]', () => {
  const dialect = 'sqlite' as const;
  it('lists, grants, shows, revokes; unknown users and missing memberships fail with exit 1', async () => {
    const database = await createTestDatabase(dialect);
    try {
      const storage = openDatabase(database.url);
      await migrateToLatest(storage);
      const user = await insertUser(storage.db);
      await storage.close();
      const env = { WARDEN_SECRET_KEY: TEST_SECRET_KEY, WARDEN_DATABASE_URL: database.url, WARDEN_LOG_LEVEL: 'warn' };
      const list = await runWarden(['roles', 'list'], { env });
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).toContain('member (built-in)  keys:write  inherits reader');
      const grant = await runWarden(['roles', 'grant', '--user', user, '--role', 'member', '--scope', 'acme'], { env });
      expect(grant.code, grant.stderr).toBe(0);
      expect(grant.stdout).toContain(`granted member to ${user} in scope acme`);
      const perms = await runWarden(['roles', 'permissions', '--user', user, '--scope', 'acme'], { env });
      expect(perms.stdout.trim().split('\n')).toEqual(['keys:write  role member in scope acme', '*:read  role member > reader in scope acme']);
      const global = await runWarden(['roles', 'permissions', '--user', user], { env });
      expect(global.stdout.trim()).toBe('');
      expect((await runWarden(['roles', 'revoke', '--user', user, '--role', 'member', '--scope', 'acme'], { env })).code).toBe(0);
      const again = await runWarden(['roles', 'revoke', '--user', user, '--role', 'member', '--scope', 'acme'], { env });
      expect(again.code, again.stderr).toBe(1);
      const unknown = await runWarden(['roles', 'grant', '--user', 'nobody', '--role', 'member'], { env });
      expect(unknown.code, unknown.stderr).toBe(1);
      expect(unknown.stderr).toMatch(/User was not found/);
      const check = openDatabase(database.url);
      const memberships = await check.db.selectFrom('role_memberships').selectAll().execute();
      await check.close();
      expect(memberships).toEqual([]);
    } finally {
      await database.cleanup();
    }
  }, 60_000);
});
