import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCliAgainst } from '../helpers/cli.js';
import { scratchDirs } from '../helpers/scratch-dirs.js';

// A new user's walk through docs/api-keys.md's CLI example: create the owner, give them a role,
// issue the key. The flags that name a user take an email as well as an id, and every refusal
// says what is missing (which permissions, which user, which role).

const tmp = scratchDirs('warden-user-refs-');
afterEach(() => {
  vi.unstubAllEnvs();
});

function freshDatabase(): { dir: string; url: string } {
  const dir = tmp();
  return { dir, url: `sqlite:${path.join(dir, 'warden.db')}` };
}

describe('CLI flags that name a user (--user, --owner)', () => {
  it('walks through the docs example: a key needs an owner holding its permissions, and the refusal names them', async () => {
    const db = freshDatabase();
    const created = await runCliAgainst(db, ['users', 'create', '--email', 'ci-owner@example.com', '--generate-password']);
    expect(created.code, created.err.join('\n')).toBe(0);
    const ownerId = /^created user (\S+) </.exec(created.out[0] ?? '')?.[1] as string;
    expect(ownerId).toMatch(/^[0-9a-f-]{36}$/);

    const refused = await runCliAgainst(db, ['keys', 'create', '--name', 'ci', '--owner', ownerId, '--permission', 'reports:read']);
    expect(refused.code).toBe(1);
    expect(refused.out).toEqual([]);
    expect(refused.err).toEqual([
      `warden: The owner (user ${ownerId}) does not hold reports:read: a key cannot carry permissions its owner does not hold; give the owner a role that grants them first (privilege_escalation)`,
    ]);

    const grant = await runCliAgainst(db, ['roles', 'grant', '--user', 'ci-owner@example.com', '--role', 'reader']);
    expect(grant.code, grant.err.join('\n')).toBe(0);
    expect(grant.out).toEqual([`granted reader to ci-owner@example.com (${ownerId})`]);

    const issued = await runCliAgainst(db, ['keys', 'create', '--name', 'ci', '--owner', ownerId, '--permission', 'reports:read']);
    expect(issued.code, issued.err.join('\n')).toBe(0);
    expect(issued.out[0]).toMatch(/^wdn_live_/);
  }, 60_000);

  it("runs docs/api-keys.md's CLI example as written, on a fresh database", async () => {
    const docs = readFileSync(new URL('../../docs/api-keys.md', import.meta.url), 'utf8');
    const block = /^## CLI\n[\s\S]*?^```\n([\s\S]*?)^```/m.exec(docs)?.[1] ?? '';
    const commands = block
      .split('\n')
      .map((line) => line.replace(/#.*$/, '').trim())
      .filter((line) => line.startsWith('warden '));
    expect(commands.map((c) => c.split(' ').slice(1, 3).join(' '))).toEqual(['users create', 'roles grant', 'keys create']);
    const db = freshDatabase();
    for (const command of commands) {
      const result = await runCliAgainst(db, command.split(/\s+/).slice(1));
      expect(result.code, `${command}\n${result.err.join('\n')}`).toBe(0);
    }
  }, 60_000);

  it('takes an email wherever a user id is expected, found as login finds it (case, spaces)', async () => {
    const db = freshDatabase();
    const created = await runCliAgainst(db, ['users', 'create', '--email', 'alice@example.com', '--generate-password']);
    const aliceId = /^created user (\S+) </.exec(created.out[0] ?? '')?.[1] as string;

    expect((await runCliAgainst(db, ['roles', 'grant', '--user', ' Alice@Example.COM', '--role', 'member'])).code).toBe(0);
    const perms = await runCliAgainst(db, ['roles', 'permissions', '--user', 'alice@example.com']);
    expect(perms.out).toEqual(['keys:write  role member', '*:read  role member > reader']);

    const key = await runCliAgainst(db, ['keys', 'create', '--name', 'ci', '--owner', 'alice@example.com', '--permission', 'reports:read']);
    expect(key.code, key.err.join('\n')).toBe(0);
    const listed = await runCliAgainst(db, ['keys', 'list', '--owner', 'alice@example.com']);
    expect(listed.out).toHaveLength(1);
    expect(listed.out[0]).toContain('\tci');

    const client = await runCliAgainst(db, ['clients', 'create', '--name', 'billing', '--owner', 'alice@example.com', '--scope', 'reports:read']);
    expect(client.code, client.err.join('\n')).toBe(0);
    const clients = await runCliAgainst(db, ['clients', 'list', '--owner', 'alice@example.com']);
    expect(clients.out).toEqual([expect.stringContaining(`owner=${aliceId}`)]);

    const revoked = await runCliAgainst(db, ['roles', 'revoke', '--user', 'alice@example.com', '--role', 'member']);
    expect(revoked.out).toEqual([`revoked member from alice@example.com (${aliceId})`]);
  }, 60_000);

  it('says what was looked up when no user or role matches (exit 1)', async () => {
    const db = freshDatabase();
    const created = await runCliAgainst(db, ['users', 'create', '--email', 'bob@example.com', '--generate-password']);
    const bobId = /^created user (\S+) </.exec(created.out[0] ?? '')?.[1] as string;
    const cases: [string[], string][] = [
      [['roles', 'grant', '--user', 'alice@example.com', '--role', 'reader'], 'warden: User was not found: no user has the email alice@example.com (--user)'],
      [['roles', 'grant', '--user', '6f1c1f5e-93b5-4a4e-9a53-0c0d7b0f3e11', '--role', 'reader'], "warden: User was not found: --user 6f1c1f5e-93b5-4a4e-9a53-0c0d7b0f3e11 is no user's id (--user takes a user id (UUID) or email)"],
      [['roles', 'grant', '--user', 'alice', '--role', 'reader'], 'warden: User was not found: --user alice is neither a user id (UUID) nor an email'],
      [['roles', 'grant', '--user', bobId, '--role', 'nosuch'], 'warden: Role was not found: there is no role named "nosuch" (warden roles list shows them)'],
      [['roles', 'revoke', '--user', 'bob@example.com', '--role', 'member'], `warden: Membership was not found: bob@example.com (${bobId}) does not hold member`],
      [['keys', 'create', '--name', 'ci', '--owner', 'carol@example.com'], 'warden: User was not found: no user has the email carol@example.com (--owner)'],
      [['clients', 'create', '--name', 'ci', '--owner', 'carol@example.com'], 'warden: User was not found: no user has the email carol@example.com (--owner)'],
    ];
    for (const [args, line] of cases) {
      const result = await runCliAgainst(db, args);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.err, args.join(' ')).toEqual([line]);
    }
  }, 60_000);
});

describe('warden users create --generate-password', () => {
  it('calls the password what it is: shown once, valid until changed with POST /v1/auth/password', async () => {
    const db = freshDatabase();
    const created = await runCliAgainst(db, ['users', 'create', '--email', 'dave@example.com', '--generate-password']);
    expect(created.code).toBe(0);
    expect(created.out[1]).toMatch(/^password \(generated, shown only this once\): [A-Za-z0-9_-]{24}$/);
    expect(created.err).toEqual(['It stays valid until changed: after the first login, change it with POST /v1/auth/password.']);
    expect([...created.out, ...created.err].join('\n')).not.toMatch(/one-time/i);
  });
});
