import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CliIo } from '../../src/cli/cli-io.js';
import { runCli } from '../../src/cli/main.js';
import { openDatabase, migrateToLatest, type Storage } from '../../src/storage/index.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { insertUser } from './fixtures.js';

function captureIo(stdin = ''): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => void stdout.push(l), err: (l) => void stderr.push(l), readStdin: async () => Buffer.from(stdin) };
}

describe('warden keys', () => {
  let database: TestDatabase;
  let storage: Storage;
  let ownerId: string;

  beforeEach(async () => {
    database = await createTestDatabase('sqlite');
    storage = openDatabase(database.url, { poolSize: 1, statementTimeoutMs: 10_000 });
    await migrateToLatest(storage);
    ownerId = await insertUser(storage.db, { admin: true });
    vi.stubEnv('WARDEN_DATABASE_URL', database.url);
    vi.stubEnv('WARDEN_SECRET_KEY', TEST_SECRET_KEY);
    vi.stubEnv('WARDEN_DOTENV_FILE', '/dev/null');
    vi.stubEnv('WARDEN_API_KEY_LEGACY_SALT', 'old-salt');
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await storage.close();
    await database.cleanup();
  });

  it('creates, shows, verifies (from stdin), rotates and revokes; the key is printed only at creation', async () => {
    const create = captureIo();
    expect(await runCli(['node', 'warden', 'keys', 'create', '--name', 'ci', '--owner', ownerId, '--permission', 'reports:read'], create), create.stderr.join('\n')).toBe(0);
    const key = create.stdout[0] as string;
    expect(key).toMatch(/^wdn_live_[0-9A-Za-z]{50}$/);
    const id = /created key (\S+);/.exec(create.stderr.join('\n'))?.[1] as string;

    const verify = captureIo(`${key}\n`);
    expect(await runCli(['node', 'warden', 'keys', 'verify', '--permission', 'reports:read'], verify)).toBe(0);
    expect(verify.stdout[0]).toBe(`valid: key ${id} of owner ${ownerId}`);

    const show = captureIo();
    expect(await runCli(['node', 'warden', 'keys', 'show', id], show)).toBe(0);
    expect(show.stdout.join('\n')).toMatch(/usage count\s+1/);
    expect(show.stdout.join('\n')).not.toContain(key);
    const list = captureIo();
    expect(await runCli(['node', 'warden', 'keys', 'list'], list)).toBe(0);
    expect(list.stdout.join('\n')).toContain(key.slice(0, 17));
    expect(list.stdout.join('\n')).not.toContain(key);

    const rotate = captureIo();
    expect(await runCli(['node', 'warden', 'keys', 'rotate', id, '--grace', '0'], rotate)).toBe(0);
    expect(rotate.stdout[0]).toMatch(/^wdn_live_/);
    const old = captureIo(key);
    expect(await runCli(['node', 'warden', 'keys', 'verify'], old)).toBe(1);
    expect(old.stdout[0]).toContain('invalid: revoked');
  });

  it('keys list shows each status the API reports: active, rotating, disabled, revoked', async () => {
    const created: string[] = [];
    for (const name of ['a', 'b', 'c']) {
      const io = captureIo();
      expect(await runCli(['node', 'warden', 'keys', 'create', '--name', name, '--owner', ownerId], io)).toBe(0);
      created.push(/created key (\S+);/.exec(io.stderr.join('\n'))?.[1] as string);
    }
    const [rotated, disabled, revoked] = created as [string, string, string];
    const typo = captureIo();
    expect(await runCli(['node', 'warden', 'keys', 'rotate', rotated, '--grace', 'soon'], typo)).toBe(2);
    expect(typo.stderr.join('\n')).toContain('--grace: "soon" is not a duration like 30s, 15m, 24h or 0');
    expect(await runCli(['node', 'warden', 'keys', 'rotate', rotated, '--grace', '1h'], captureIo())).toBe(0);
    await storage.db.updateTable('api_keys').set({ is_enabled: 0 }).where('id', '=', disabled).execute();
    expect(await runCli(['node', 'warden', 'keys', 'revoke', revoked], captureIo())).toBe(0);

    const list = captureIo();
    expect(await runCli(['node', 'warden', 'keys', 'list'], list)).toBe(0);
    const statusOf = new Map(list.stdout.map((line) => line.split('\t')).map(([id, , status]) => [id, status]));
    expect([statusOf.get(rotated), statusOf.get(disabled), statusOf.get(revoked)]).toEqual(['rotating', 'disabled', 'revoked']);
    expect([...statusOf.values()].filter((status) => status === 'active')).toHaveLength(1);
  });

  it('lists keys in pages: --limit rows on stdout, the next cursor on stderr, --cursor for the next page', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const create = captureIo();
      expect(await runCli(['node', 'warden', 'keys', 'create', '--name', `k${i}`, '--owner', ownerId], create)).toBe(0);
      ids.push(/created key (\S+);/.exec(create.stderr.join('\n'))?.[1] as string);
      // Distinct creation times: the CLI lists newest first, and this test names the order.
      await storage.db.updateTable('api_keys').set({ created_at: Date.UTC(2026, 0, 1) + i }).where('id', '=', ids[i] as string).execute();
    }
    const listed: string[] = [];
    let cursor: string | undefined;
    // 5 keys at 2 a page, then again at 5 a page (an exact fit): the last page prints no cursor.
    for (const limit of ['2', '5']) {
      let pages = 0;
      do {
        const io = captureIo();
        expect(await runCli(['node', 'warden', 'keys', 'list', '--owner', ownerId, '--limit', limit, ...(cursor === undefined ? [] : ['--cursor', cursor])], io), io.stderr.join('\n')).toBe(0);
        listed.push(...io.stdout.map((line) => line.split('\t')[0] as string));
        cursor = /^next cursor: (\S+)$/.exec(io.stderr.join('\n'))?.[1];
        pages += 1;
      } while (cursor !== undefined);
      expect(pages).toBe(Math.ceil(5 / Number(limit)));
    }
    expect(listed).toEqual([...[...ids].reverse(), ...[...ids].reverse()]);
  });

  it('keys list refuses a --cursor it did not print and a bad --limit (exit 2), before opening the database', async () => {
    vi.stubEnv('WARDEN_DATABASE_URL', 'postgres://nobody@127.0.0.1:1/none');
    const clientsCursor = Buffer.from('c:1767225600000:00000000-0000-4000-8000-000000000000').toString('base64url');
    for (const args of [['--cursor', "' OR 1=1 --"], ['--cursor', clientsCursor], ['--cursor', 'garbage'], ['--limit', '0'], ['--limit', '201']]) {
      const io = captureIo();
      expect(await runCli(['node', 'warden', 'keys', 'list', ...args], io), args.join(' ')).toBe(2);
      expect(io.stdout).toEqual([]);
      expect(io.stderr.join('\n')).toContain(args[0] as string);
    }
  });

  it('imports salted SHA-256 rows and plain keys; an imported key verifies', async () => {
    const legacyKey = 'tts_live_9b1f0c3a5d7e2b4c6a8e0f1d3b5c7a9e';
    const lines = [
      JSON.stringify({ sha256: createHash('sha256').update(`old-salt${legacyKey}`).digest('hex'), name: 'legacy', permissions: ['tts:speak'] }),
      'plain-legacy-key-0123456789abcdefghij',
    ].join('\n');
    const io = captureIo(lines);
    expect(await runCli(['node', 'warden', 'keys', 'import', '--owner', ownerId, '--permission', 'tts:speak'], io)).toBe(0);
    expect(io.stdout[0]).toBe('imported 2, skipped 0 duplicates, refused 0');
    expect(io.stdout.join('\n') + io.stderr.join('\n')).not.toContain('plain-legacy-key');
    const verify = captureIo(legacyKey);
    expect(await runCli(['node', 'warden', 'keys', 'verify', '--permission', 'tts:speak'], verify)).toBe(0);
    const row = await storage.db.selectFrom('api_keys').select(['hash_scheme']).where('name', '=', 'legacy').executeTakeFirstOrThrow();
    expect(row.hash_scheme).toBe('hmac-sha256');
  });

  it('refuses a JSON line that is not an object (exit 65, naming the line, never its content), and imports nothing', async () => {
    const secret = 'plain-legacy-key-abcdefghij0123456789';
    for (const line of [JSON.stringify([secret]), JSON.stringify(secret), '[not json']) {
      const io = captureIo(`plain-legacy-key-first-0123456789abcdef\n${line}`);
      expect(await runCli(['node', 'warden', 'keys', 'import', '--owner', ownerId, '--permission', 'tts:speak'], io), line).toBe(65);
      expect(io.stderr.join('\n')).toContain('line 2');
      expect(io.stdout.join('\n') + io.stderr.join('\n')).not.toContain('plain-legacy-key');
    }
    expect(await storage.db.selectFrom('api_keys').select('id').execute()).toEqual([]);
  });

  it('lists every subcommand, including identity\'s rotate-signing, in the keys group', async () => {
    const io = captureIo();
    expect(await runCli(['node', 'warden', 'keys', '--help'], io)).toBe(0);
    for (const command of ['create', 'list', 'show', 'rotate', 'revoke', 'verify', 'import', 'rotate-signing']) expect(io.stdout.join('\n')).toContain(command);
  });

  it('never takes a key from the command line', async () => {
    const io = captureIo('');
    expect(await runCli(['node', 'warden', 'keys', 'verify'], io)).toBe(2);
    expect(await runCli(['node', 'warden', 'keys', 'verify', 'wdn_live_x'], captureIo(''))).toBe(2);
  });
});
