import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadSettings } from '../../src/config/index.js';
import { generateAesKeyEntry } from '../../src/crypto/aes-gcm-keyring.js';
import { startServer } from '../../src/server/start-server.js';
import { openDatabase } from '../../src/storage/index.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';
import { runCliAgainst } from '../helpers/cli.js';

const OTHER_SECRET_KEY = `${TEST_SECRET_KEY}-but-not-the-same`;
const REFUSAL = [
  'warden: the configuration is not usable:',
  '  - WARDEN_SECRET_KEY differs from the key this database was initialised with: restore the original key (see docs/operations.md for rotation)',
];

const dirs: string[] = [];
afterEach(() => {
  vi.unstubAllEnvs();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh data directory with its SQLite URL. */
function freshDatabase(): { dir: string; url: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-cli-secret-'));
  dirs.push(dir);
  return { dir, url: `sqlite:${path.join(dir, 'warden.db')}` };
}

/** Runs the CLI in-process against `db` with `secretKey`, the rest of the environment fixed. */
const cli = (db: { dir: string; url: string }, secretKey: string, args: string[]) => runCliAgainst(db, args, { secretKey });

/** Row count of every table: "writes nothing" means this does not change. */
async function rowCounts(url: string): Promise<Record<string, number>> {
  const storage = openDatabase(url);
  try {
    const counts: Record<string, number> = {};
    for (const table of await storage.db.introspection.getTables()) {
      // The introspected table names are not in the typed schema's union.
      const row = await storage.db
        .selectFrom(table.name as 'users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      counts[table.name] = Number(row.n);
    }
    return counts;
  } finally {
    await storage.close();
  }
}

const ADMIN = '<id of the development admin>';

/** `args` with ADMIN replaced by the id of the admin `warden serve` bootstrapped. */
async function withAdminId(url: string, args: string[]): Promise<string[]> {
  const storage = openDatabase(url);
  try {
    const admin = await storage.db.selectFrom('users').select('id').where('is_admin', '=', 1).executeTakeFirstOrThrow();
    return args.map((arg) => (arg === ADMIN ? admin.id : arg));
  } finally {
    await storage.close();
  }
}

/** A database set up by `warden serve` (development: with an admin) with TEST_SECRET_KEY: fingerprint stored, audit chain started. */
async function databaseServedWithTestKey(): Promise<{ dir: string; url: string }> {
  const db = freshDatabase();
  const loaded = loadSettings({
    env: { WARDEN_PORT: '0', WARDEN_DATA_DIR: db.dir, WARDEN_DATABASE_URL: db.url, WARDEN_SECRET_KEY: TEST_SECRET_KEY },
    cwd: db.dir,
    envFile: false,
  });
  const silent = new Writable({ write: (_c, _e, cb) => cb() });
  const server = await startServer(loaded, { print: () => undefined, handleSignals: false, logStream: silent });
  await server.close();
  return db;
}

describe('CLI commands that use the service secrets check WARDEN_SECRET_KEY like `warden serve`', () => {
  const commands: [string, string[], Record<string, string>][] = [
    ['roles list (service context)', ['roles', 'list'], {}],
    ['users create (service context)', ['users', 'create', '--email', 'new@example.test', '--generate-password'], {}],
    ['keys create (service context: API-key hashes)', ['keys', 'create', '--name', 'ci', '--owner', ADMIN, '--permission', 'audit:read'], {}],
    ['keys rotate-signing (service context)', ['keys', 'rotate-signing'], {}],
    ['audit prune (signs checkpoints)', ['audit', 'prune', '--before', '2100-01-01'], {}],
    ['audit verify', ['audit', 'verify'], {}],
    ['crypto rotate (recomputes blind indexes)', ['crypto', 'rotate'], { WARDEN_ENCRYPTION_KEY: generateAesKeyEntry('k1') }],
  ];

  it.each(commands)('%s with a different key: exit 78, the same error as serve, nothing written', async (_name, args, env) => {
    const db = await databaseServedWithTestKey();
    const before = await rowCounts(db.url);
    expect(before.audit_events).toBeGreaterThan(0);
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);

    const result = await cli(db, OTHER_SECRET_KEY, await withAdminId(db.url, args));

    expect(result.err).toEqual(REFUSAL);
    expect(result.code).toBe(78);
    expect(result.out).toEqual([]);
    expect(await rowCounts(db.url)).toEqual(before);
    // No checkpoint signed with the other key: the chain still verifies with the original one.
    const verify = await cli(db, TEST_SECRET_KEY, ['audit', 'verify']);
    expect(verify.out[0]).toMatch(/^audit chain valid: /);
    expect(verify.code).toBe(0);
  });

  it('the first command to open a fresh database pins its key, so a later different key is refused', async () => {
    const db = freshDatabase();
    expect((await cli(db, TEST_SECRET_KEY, ['roles', 'list'])).code).toBe(0);
    expect((await cli(db, TEST_SECRET_KEY, ['roles', 'list'])).code).toBe(0);

    const refused = await cli(db, OTHER_SECRET_KEY, ['roles', 'list']);

    expect(refused.err).toEqual(REFUSAL);
    expect(refused.code).toBe(78);
  });
});
