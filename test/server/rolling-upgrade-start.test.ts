// An instance of the older build restarting during a rolling upgrade, after a newer build
// applied a migration it does not know, starts without migrating and says so (one warning in
// the banner, one in the log) instead of refusing with "previously executed migration … is missing".
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { afterEach, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/index.js';
import { startServer } from '../../src/server/start-server.js';
import { MIGRATIONS, migrateToLatest, migrationStatus, openDatabase, type WardenMigration } from '../../src/storage/index.js';

const FUTURE: WardenMigration = {
  name: '0098_added_by_the_next_release',
  async up(db) {
    await sql`create table future_things (id text primary key)`.execute(db);
  },
};

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

it('an older build starts on a database a newer build migrated, warning about the migrations it does not know', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-rolling-'));
  dirs.push(dir);
  const url = `sqlite:${path.join(dir, 'warden.db')}`;
  const newer = openDatabase(url);
  try {
    await migrateToLatest(newer, [...MIGRATIONS, FUTURE]);
  } finally {
    await newer.close();
  }
  const logLines: string[] = [];
  const logStream = new Writable({
    write: (chunk: Buffer, _e, cb) => {
      logLines.push(...chunk.toString().split('\n').filter((l) => l !== ''));
      cb();
    },
  });
  const printed: string[] = [];
  const loaded = loadSettings({ env: { WARDEN_PORT: '0', WARDEN_DATA_DIR: dir, WARDEN_DATABASE_URL: url }, cwd: dir, envFile: false });
  const server = await startServer(loaded, { print: (l) => printed.push(l), handleSignals: false, logStream });
  try {
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    expect(printed).toContain(
      '  warning: the database has migrations this build does not know (0098_added_by_the_next_release): a newer Warden applied them; running on it without migrating',
    );
    const warning = logLines.map((l) => JSON.parse(l) as { level: number; msg: string; unknown_migrations?: string[] }).find((l) => l.unknown_migrations !== undefined);
    expect(warning).toMatchObject({ level: 40, unknown_migrations: ['0098_added_by_the_next_release'] });
  } finally {
    await server.close();
  }
  const storage = openDatabase(url);
  try {
    expect((await migrationStatus(storage)).filter((m) => !m.known).map((m) => m.name)).toEqual(['0098_added_by_the_next_release']);
  } finally {
    await storage.close();
  }
});
