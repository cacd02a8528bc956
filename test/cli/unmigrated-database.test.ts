// `audit …` and `crypto rotate` do not migrate the database (inspecting or pruning the audit log
// must not change the schema under running instances). On a database not yet migrated they say
// to run `warden migrate` and exit 1, as docs/operations.md documents, instead of meeting
// "no such table" (70, "unexpected error"). Their flags are checked before the database is
// opened: a wrong one is exit 2 whatever state the database is in.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { generateAesKeyEntry } from '../../src/crypto/aes-gcm-keyring.js';
import { MIGRATIONS, migrateToLatest, migrationStatus, openDatabase } from '../../src/storage/index.js';
import { runCliAgainst } from '../helpers/cli.js';

const dirs: string[] = [];
afterEach(() => {
  vi.unstubAllEnvs();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function freshDatabase(): { dir: string; file: string; url: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-cli-unmigrated-'));
  dirs.push(dir);
  const file = path.join(dir, 'warden.db');
  return { dir, file, url: `sqlite:${file}` };
}

/** Runs the CLI in-process against `db` (development profile, TEST_SECRET_KEY, an encryption key). */
const cli = (db: { dir: string; url: string }, args: string[]) => runCliAgainst(db, args, { env: { WARDEN_ENCRYPTION_KEY: generateAesKeyEntry('k1') } });

const COMMANDS: string[][] = [
  ['audit', 'verify'],
  ['audit', 'query', '--limit', '5'],
  ['audit', 'export'],
  ['audit', 'prune', '--before', '2000-01-01'],
  ['audit', 'acknowledge-unverified', '--through-seq', '1', '--reason', 'checked'],
  ['crypto', 'rotate', '--dry-run'],
];

describe('audit and crypto rotate on a database not yet migrated', () => {
  it.each(COMMANDS.map((args) => [args.join(' '), args]))('%s: exit 1, run `warden migrate` first, nothing written', async (_name, args) => {
    const db = freshDatabase();
    const result = await cli(db, args as string[]);
    expect(result.err).toEqual([
      `warden: the database is not migrated for this version of Warden (${MIGRATIONS.length} pending: 0001_core, 0002_users, 0003_audit, …): run \`warden migrate\` first (conflict)`,
    ]);
    expect(result.code).toBe(EXIT.failure);
    expect(result.out).toEqual([]);
    const storage = openDatabase(db.url);
    try {
      expect((await migrationStatus(storage)).every((m) => m.executedAt === undefined)).toBe(true);
    } finally {
      await storage.close();
    }
  });

  it('a database migrated only part-way is refused the same way, naming what is pending', async () => {
    const db = freshDatabase();
    const storage = openDatabase(db.url);
    try {
      await migrateToLatest(storage, MIGRATIONS.filter((m) => m.name < '0010'));
    } finally {
      await storage.close();
    }
    const result = await cli(db, ['audit', 'verify']);
    expect(result.err).toEqual([
      'warden: the database is not migrated for this version of Warden (3 pending: 0010_audit_head_seal, 0011_apikey_disable_lock, 0012_listing_and_expiry_indexes): run `warden migrate` first (conflict)',
    ]);
    expect(result.code).toBe(EXIT.failure);
  });

  it('after `warden migrate` they run', async () => {
    const db = freshDatabase();
    expect((await cli(db, ['migrate'])).code).toBe(EXIT.ok);
    const verify = await cli(db, ['audit', 'verify']);
    expect(verify.err).toEqual([]);
    expect(verify.code).toBe(EXIT.ok);
    expect((await cli(db, ['crypto', 'rotate', '--dry-run'])).code).toBe(EXIT.ok);
  });

  it.each([
    ['audit query --limit 0', ['audit', 'query', '--limit', '0'], '--limit must be an integer from 1 to 500'],
    ['audit query --cursor', ['audit', 'query', '--cursor', 'not-a-cursor']],
    ['audit export --format csv', ['audit', 'export', '--format', 'csv'], 'unsupported export format csv (use jsonl)'],
    ['audit prune --before', ['audit', 'prune', '--before', 'yesterday'], '--before must be epoch milliseconds or an RFC 3339 date or date-time with Z or an offset (e.g. 2026-12-01T00:00:00Z)'],
    ['audit acknowledge-unverified --through-seq', ['audit', 'acknowledge-unverified', '--through-seq', '0', '--reason', 'x'], '--through-seq must be an integer from 1 to 9007199254740991'],
  ])('%s: a wrong flag is exit 2 before the database is opened', async (_name, args, message?: string) => {
    const db = freshDatabase();
    const result = await cli(db, args as string[]);
    expect(result.code).toBe(EXIT.usage);
    if (message !== undefined) expect(result.err).toEqual([`warden: ${message}`]);
    expect(existsSync(db.file)).toBe(false);
  });
});
