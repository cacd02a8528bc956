import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { UserAdmin } from '../../src/identity/user-admin.js';
import { StorageUnavailableError } from '../../src/storage/index.js';
import { createTestApp, TEST_SECRET_KEY, type TestApp } from '../helpers/app.js';
import { identityOfApp } from './identity-helpers.js';

const DJANGO_HASH = 'pbkdf2_sha256$10000$saltysaltsalt123$pn7L4kjajhIoXIjer2UzpiiC5+SpsxoPRX9Qnu71gGU=';

/** An administrator created by an import must be as visible in the audit log as one created by `users create --admin`. */
describe('`warden users import` audit details', () => {
  let t: TestApp;
  let file: string;
  const saved = { ...process.env };
  beforeEach(async () => {
    t = await createTestApp();
    file = path.join(os.tmpdir(), `warden-import-audit-${process.pid}-${Date.now()}.jsonl`);
    Object.assign(process.env, { WARDEN_ENV: 'development', WARDEN_SECRET_KEY: TEST_SECRET_KEY, WARDEN_DATABASE_URL: t.settings.databaseUrl, WARDEN_LOG_LEVEL: 'silent' });
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    process.env = { ...saved };
    rmSync(file, { force: true });
    await t.close();
  });

  const createdDetails = async (email: string) => {
    const db = t.context.storage.db;
    const user = await db.selectFrom('users').select('id').where('email_lookup', '=', identityOfApp(t).users.emailLookup(email)).executeTakeFirstOrThrow();
    const rows = await db.selectFrom('audit_events').select(['details', 'actor']).where('entity_id', '=', user.id).where('action', '=', 'user.created').execute();
    return rows.map((row) => ({ actor: row.actor, details: JSON.parse(String(row.details)) as unknown }));
  };

  it('records is_admin for every imported user, and is_active: false for an inactive one', async () => {
    const lines = [
      { email: 'imported-admin@example.test', password_hash: DJANGO_HASH, is_admin: true },
      { email: 'imported-plain@example.test', password_hash: DJANGO_HASH },
      { email: 'imported-dormant@example.test', password_hash: DJANGO_HASH, is_active: false },
    ];
    writeFileSync(file, `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`);
    const out: string[] = [];
    const io = { out: (l: string) => void out.push(l), err: () => undefined, readStdin: async () => Buffer.from('') };
    expect(await runCli(['node', 'warden', 'users', 'import', file], io)).toBe(0);
    expect(out).toContain('imported 3 of 3 users');

    expect(await createdDetails('imported-admin@example.test')).toEqual([{ actor: 'system', details: { imported: true, is_admin: true } }]);
    expect(await createdDetails('imported-plain@example.test')).toEqual([{ actor: 'system', details: { imported: true, is_admin: false } }]);
    expect(await createdDetails('imported-dormant@example.test')).toEqual([{ actor: 'system', details: { imported: true, is_admin: false, is_active: false } }]);
  });

  it('stops with exit 69 when the database fails mid-import, instead of calling every remaining line invalid', async () => {
    const lines = ['first', 'second', 'third'].map((name) => JSON.stringify({ email: `${name}@example.test`, password_hash: DJANGO_HASH }));
    writeFileSync(file, `${lines.join('\n')}\n`);
    const original = UserAdmin.prototype.importWithHash;
    let calls = 0;
    vi.spyOn(UserAdmin.prototype, 'importWithHash').mockImplementation(function (this: UserAdmin, ...args: Parameters<UserAdmin['importWithHash']>) {
      calls += 1;
      if (calls === 2) return Promise.reject(new StorageUnavailableError('The database is unreachable', new Error('connect ECONNREFUSED 127.0.0.1:5432')));
      return original.apply(this, args);
    });
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (l: string) => void out.push(l), err: (l: string) => void err.push(l), readStdin: async () => Buffer.from('') };
    expect(await runCli(['node', 'warden', 'users', 'import', file], io)).toBe(69);
    expect(calls).toBe(2);
    expect(out.join('\n')).not.toMatch(/imported/);
    expect(err.join('\n')).not.toMatch(/line 3/);
  });

  it('still reports a bad line by number and goes on (exit 65)', async () => {
    writeFileSync(file, `${['not json', JSON.stringify({ email: 'fine@example.test', password_hash: DJANGO_HASH }), JSON.stringify({ email: 'x@example.test' }), 'null', '[1]'].join('\n')}\n`);
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (l: string) => void out.push(l), err: (l: string) => void err.push(l), readStdin: async () => Buffer.from('') };
    expect(await runCli(['node', 'warden', 'users', 'import', file], io)).toBe(65);
    expect(out).toContain('imported 1 of 5 users');
    expect(err).toEqual(['  line 1: not valid JSON', '  line 3: needs "email" and "password_hash" strings', '  line 4: is not a JSON object', '  line 5: is not a JSON object']);
  });
});
