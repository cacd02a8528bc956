// The CLI of the older build during a rolling upgrade, on a database a newer build migrated
// further: its commands run (one warning line naming the migrations it does not know) instead
// of failing with "previously executed migration … is missing", and `migrate --status` shows them.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterEach, expect, it, vi } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { MIGRATIONS, migrateToLatest, openDatabase, type WardenMigration } from '../../src/storage/index.js';
import { runCliAgainst } from '../helpers/cli.js';

const FUTURE: WardenMigration = {
  name: '0098_added_by_the_next_release',
  async up(db) {
    await sql`create table future_things (id text primary key)`.execute(db);
  },
};
const WARNING =
  'warden: warning: the database has migrations this build does not know (0098_added_by_the_next_release): a newer Warden applied them; running on it without migrating';

const dirs: string[] = [];
afterEach(() => {
  vi.unstubAllEnvs();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A database the next release has migrated (this build's migrations plus FUTURE). */
async function databaseOfTheNextRelease(): Promise<{ dir: string; url: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-cli-rolling-'));
  dirs.push(dir);
  const url = `sqlite:${path.join(dir, 'warden.db')}`;
  const storage = openDatabase(url);
  try {
    await migrateToLatest(storage, [...MIGRATIONS, FUTURE]);
  } finally {
    await storage.close();
  }
  return { dir, url };
}

const cli = (db: { dir: string; url: string }, args: string[]) => runCliAgainst(db, args);

it('commands that migrate first (roles list) run, with one warning line', async () => {
  const db = await databaseOfTheNextRelease();
  const result = await cli(db, ['roles', 'list']);
  expect(result.err).toEqual([WARNING]);
  expect(result.code).toBe(EXIT.ok);
});

it('commands that do not migrate (audit verify) run, with one warning line', async () => {
  const db = await databaseOfTheNextRelease();
  const result = await cli(db, ['audit', 'verify']);
  expect(result.err).toEqual([WARNING]);
  expect(result.code).toBe(EXIT.ok);
});

it('`migrate` applies nothing and `migrate --status` lists the newer migration as applied', async () => {
  const db = await databaseOfTheNextRelease();
  const migrate = await cli(db, ['migrate']);
  expect(migrate.out).toEqual(['database is up to date']);
  expect(migrate.err).toEqual([WARNING]);
  expect(migrate.code).toBe(EXIT.ok);
  const status = await cli(db, ['migrate', '--status']);
  expect(status.out).toHaveLength(MIGRATIONS.length + 1);
  expect(status.out.at(-1)).toMatch(/^applied {2}0098_added_by_the_next_release {2}\d{4}-\d\d-\d\dT\S+ {2}\(from a newer build of Warden\)$/);
  expect(status.out.slice(0, -1).join('\n')).not.toContain('newer build');
  expect(status.code).toBe(EXIT.ok);
});
