import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { bootstrapDevAdmin, DEV_ADMIN_EMAIL } from '../../src/identity/dev-bootstrap.js';
import { createTestApp, TEST_SECRET_KEY, type TestApp } from '../helpers/app.js';
import { identityOfApp, login, STRONG_PASSWORD } from './identity-helpers.js';

const DJANGO_HASH = 'pbkdf2_sha256$10000$saltysaltsalt123$pn7L4kjajhIoXIjer2UzpiiC5+SpsxoPRX9Qnu71gGU=';
const DJANGO_PASSWORD = 'legacy-password-for-tests';

function captureIo(stdin: string) {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => void out.push(l), err: (l: string) => void err.push(l), readStdin: async () => Buffer.from(stdin) } };
}

describe('users: CLI, legacy import with re-hash on login, development bootstrap', () => {
  let t: TestApp;
  const saved = { ...process.env };
  beforeEach(async () => {
    t = await createTestApp();
    Object.assign(process.env, { WARDEN_ENV: 'development', WARDEN_SECRET_KEY: TEST_SECRET_KEY, WARDEN_DATABASE_URL: t.settings.databaseUrl, WARDEN_LOG_LEVEL: 'silent' });
  });
  afterEach(async () => {
    process.env = { ...saved };
    await t.close();
  });

  it('`warden users create --admin` reads the password from stdin, never argv', async () => {
    const { io, out } = captureIo(`${STRONG_PASSWORD}\n`);
    const code = await runCli(['node', 'warden', 'users', 'create', '--email', 'Ops@Example.test', '--admin'], io);
    expect(code).toBe(0);
    expect(out.join('\n')).toMatch(/created user [0-9a-f-]{36} <ops@example.test> \(admin\)/);
    expect(out.join('\n')).not.toContain(STRONG_PASSWORD);
    await login(t.app, 'ops@example.test');
  });

  it('refuses a weak password from stdin', async () => {
    const { io, err } = captureIo('password123\n');
    expect(await runCli(['node', 'warden', 'users', 'create', '--email', 'weak@example.test'], io)).not.toBe(0);
    expect(err.join('\n')).toContain('common');
  });

  it('`warden users import` takes legacy hashes; the first login re-hashes to argon2id', async () => {
    const file = path.join(os.tmpdir(), `warden-import-${process.pid}-${Date.now()}.jsonl`);
    writeFileSync(file, `${JSON.stringify({ email: 'legacy@example.test', password_hash: DJANGO_HASH })}\n${JSON.stringify({ email: 'bad@example.test', password_hash: 'md5:abc' })}\n`);
    const { io, out, err } = captureIo('');
    expect(await runCli(['node', 'warden', 'users', 'import', file], io)).toBe(65);
    expect(out).toContain('imported 1 of 2 users');
    expect(err.join('\n')).toContain('line 2');
    expect(err.join('\n')).not.toContain('md5:abc');
    await login(t.app, 'legacy@example.test', DJANGO_PASSWORD);
    const row = await t.context.storage.db.selectFrom('users').select('password_hash').where('email_lookup', '=', identityOfApp(t).users.emailLookup('legacy@example.test')).executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    await login(t.app, 'legacy@example.test', DJANGO_PASSWORD);
  });

  it('`warden users import` refuses a line whose flags are not JSON booleans or whose fields it does not know, rather than import an active account', async () => {
    const file = path.join(os.tmpdir(), `warden-import-flags-${process.pid}-${Date.now()}.jsonl`);
    const line = (fields: Record<string, unknown>) => JSON.stringify({ password_hash: DJANGO_HASH, ...fields });
    writeFileSync(
      file,
      [
        line({ email: 'quoted@example.test', is_active: 'false' }),
        line({ email: 'misspelt@example.test', is_actve: false }),
        line({ email: 'numeric@example.test', is_admin: 1 }),
        line({ email: 'dormant@example.test', is_active: false }),
      ].join('\n'),
    );
    const { io, out, err } = captureIo('');
    expect(await runCli(['node', 'warden', 'users', 'import', file], io)).toBe(65);
    expect(out).toContain('imported 1 of 4 users');
    expect(err).toEqual([
      '  line 1: "is_active" must be true or false (a JSON boolean)',
      '  line 2: has unknown fields ("is_actve"); known: email, password_hash, name, is_admin, is_active',
      '  line 3: "is_admin" must be true or false (a JSON boolean)',
    ]);
    const users = await t.context.storage.db.selectFrom('users').select(['is_active']).execute();
    // The development admin is not created here: only the dormant import is in the table.
    expect(users.map((u) => Number(u.is_active))).toEqual([0]);
  });

  it('creates a first development admin once, with a working password (shown once)', async () => {
    const created = await bootstrapDevAdmin(identityOfApp(t));
    expect(created?.email).toBe(DEV_ADMIN_EMAIL);
    await login(t.app, DEV_ADMIN_EMAIL, created?.password);
    expect(await bootstrapDevAdmin(identityOfApp(t))).toBeUndefined();
    expect(t.rawLogs()).not.toContain(created?.password ?? '');
  });
});

describe('warden keys rotate-signing', () => {
  it('adds a new active key and keeps the old one published', async () => {
    const { Command } = await import('commander');
    const { addRotateSigningCommand } = await import('../../src/cli/commands/keys-rotate-signing.js');
    const t = await createTestApp();
    const saved = { ...process.env };
    Object.assign(process.env, { WARDEN_ENV: 'development', WARDEN_SECRET_KEY: TEST_SECRET_KEY, WARDEN_DATABASE_URL: t.settings.databaseUrl, WARDEN_LOG_LEVEL: 'silent' });
    try {
      const before = identityOfApp(t).keys.active().kid;
      const { io, out } = captureIo('');
      let exit = -1;
      const keys = new Command('keys').exitOverride();
      addRotateSigningCommand(keys, io, async (work) => {
        exit = (await work()) ?? 0;
      });
      await keys.parseAsync(['rotate-signing'], { from: 'user' });
      expect(exit).toBe(0);
      expect(out.join('\n')).toContain(`still published until their tokens expire: ${before}`);
      await identityOfApp(t).keys.reload();
      expect(identityOfApp(t).keys.active().kid).not.toBe(before);
      expect(identityOfApp(t).keys.jwks().keys.map((k) => k.kid)).toContain(before);
    } finally {
      process.env = { ...saved };
      await t.close();
    }
  });

  it('says so on stderr, and exits 1 after retiring keys, when running instances could not be told (Redis unreachable)', async () => {
    const { Command } = await import('commander');
    const { addRotateSigningCommand } = await import('../../src/cli/commands/keys-rotate-signing.js');
    const t = await createTestApp();
    const saved = { ...process.env };
    Object.assign(process.env, {
      WARDEN_ENV: 'development',
      WARDEN_SECRET_KEY: TEST_SECRET_KEY,
      WARDEN_DATABASE_URL: t.settings.databaseUrl,
      WARDEN_LOG_LEVEL: 'silent',
      WARDEN_REDIS_URL: 'redis://127.0.0.1:1',
    });
    try {
      for (const [args, expected] of [[['rotate-signing'], 0], [['rotate-signing', '--retire-previous'], 1]] as const) {
        const { io, err } = captureIo('');
        let exit = -1;
        const keys = new Command('keys').exitOverride();
        addRotateSigningCommand(keys, io, async (work) => {
          exit = (await work()) ?? 0;
        });
        await keys.parseAsync([...args], { from: 'user' });
        expect(exit, args.join(' ')).toBe(expected);
        expect(err.join('\n')).toMatch(/running instances were not told/);
      }
    } finally {
      process.env = { ...saved };
      await t.close();
    }
  });
});
