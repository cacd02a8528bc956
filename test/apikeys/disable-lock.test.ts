import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiKeyService } from '../../src/apikeys/api-key-service.js';
import type { ApiKeys } from '../../src/apikeys/api-keys-domain.js';
import type { ApiKeysTable } from '../../src/apikeys/apikey-tables.js';
import { createPepperKeyring } from '../../src/apikeys/pepper-keyring.js';
import { UsageTracker } from '../../src/apikeys/usage-tracker.js';
import type { AuditEventInput } from '../../src/audit/audit-event.js';
import { createMemoryInvalidationBus } from '../../src/cache/invalidation-bus.js';
import type { CliIo } from '../../src/cli/cli-io.js';
import { runCli } from '../../src/cli/main.js';
import type { Principal } from '../../src/http/principal.js';
import { MIGRATIONS } from '../../src/storage/migrations/index.js';
import { migrateToLatest, openDatabase, type DatabaseSchema, type Storage } from '../../src/storage/index.js';
import { createTestApp, TEST_SECRET_KEY, type TestApp } from '../helpers/app.js';
import { createTestDatabase, createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { bearer, login, seedUser } from '../identity/identity-helpers.js';
import { insertUser, instrumentedDb, manualClock, nthSelectFrom } from './fixtures.js';
import { tapAudit } from '../helpers/audit-tap.js';

const ROOT = { principal: { kind: 'client', subject: 'system', permissions: ['*:*'], credentialId: 'test' } satisfies Principal, auditActor: 'system' };
const SYSTEM = { actor: 'system' };
const OWNER = { isOwner: true, managesOwners: false };
const MANAGER = { isOwner: false, managesOwners: true };

describeEachDatabase('a key disabled by someone managing its owner stays disabled until such a manager re-enables it', (dialect) => {
  let t: TestApp;
  let keys: ApiKeys;
  let admin: { userId: string; key: string; id: string };
  /** A plain member holding keys:read and keys:write (a role), with a key carrying both. */
  let member: { userId: string; key: string; id: string };
  /** A member's key that the tests disable, lock, rotate and revoke. */
  let target: { key: string; id: string };
  let audited: AuditEventInput[];

  beforeEach(async () => {
    t = await createTestApp({ dialect });
    keys = t.context.apiKeys as ApiKeys;
    const authz = t.context.authz;
    if (authz === undefined) throw new Error('authz is not wired');
    const adminId = await insertUser(t.context.storage.db, { admin: true });
    const adminKey = await keys.service.create({ name: 'root', ownerId: adminId, permissions: ['*:*'] }, SYSTEM);
    admin = { userId: adminId, key: adminKey.key, id: adminKey.record.id };
    const memberId = await insertUser(t.context.storage.db);
    await authz.createRole(ROOT, { name: 'key-user', permissions: ['keys:read', 'keys:write'] });
    await authz.assignRole(ROOT, { userId: memberId, role: 'key-user' });
    const memberKey = await keys.service.create({ name: 'mine', ownerId: memberId, permissions: ['keys:read', 'keys:write'] }, SYSTEM);
    member = { userId: memberId, key: memberKey.key, id: memberKey.record.id };
    const issued = await keys.service.create({ name: 'svc', ownerId: memberId, permissions: ['keys:read'] }, SYSTEM);
    target = { key: issued.key, id: issued.record.id };
    audited = tapAudit(t);
  });
  afterEach(async () => t.close());

  const as = (key: string): Record<string, string> => ({ 'x-api-key': key });
  const patch = (headers: Record<string, string>, id: string, enabled: boolean) =>
    t.app.inject({ method: 'PATCH', url: `/v1/keys/${id}`, headers, payload: { enabled } });
  const verify = async (key: string): Promise<Record<string, unknown>> =>
    (await t.app.inject({ method: 'POST', url: '/v1/keys/verify', headers: as(admin.key), payload: { key } })).json();
  const stored = (id: string) => t.context.storage.db.selectFrom('api_keys').select(['is_enabled', 'disabled_by', 'disabled_by_admin']).where('id', '=', id).executeTakeFirstOrThrow();

  /** A user who is not an administrator but manages users (users:write through a role), with a key. */
  async function userManager(): Promise<{ userId: string; key: string }> {
    const authz = t.context.authz;
    if (authz === undefined) throw new Error('authz is not wired');
    const userId = await insertUser(t.context.storage.db);
    await authz.createRole(ROOT, { name: 'user-manager', permissions: ['keys:read', 'keys:write', 'users:read', 'users:write'] });
    await authz.assignRole(ROOT, { userId, role: 'user-manager' });
    const { key } = await keys.service.create({ name: 'ops', ownerId: userId, permissions: ['keys:read', 'keys:write', 'users:read', 'users:write'] }, SYSTEM);
    return { userId, key };
  }

  it.each(['an administrator', 'a user manager (users:write, not admin)'])(
    'after %s disables a member\'s key, the member\'s re-enable is 403 key_locked, audited as denied, and the key stays disabled',
    async (who) => {
      const manager = who === 'an administrator' ? admin : await userManager();
      const off = await patch(as(manager.key), target.id, false);
      expect(off.statusCode).toBe(200);
      expect(off.json()).toMatchObject({ status: 'disabled', disabled_by_admin: true });

      const refused = await patch(as(member.key), target.id, true);
      expect(refused.statusCode).toBe(403);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.json()).toMatchObject({ code: 'key_locked', permission: 'users:write' });
      expect(refused.json().detail).toMatch(/disabled by an administrator; only someone who manages its owner's keys \(users:write\) can re-enable it/);
      expect(refused.body).not.toMatch(/wdn_/);
      expect(refused.body).not.toContain(manager.userId);
      expect(await verify(target.key)).toMatchObject({ valid: false, code: 'disabled' });
      expect(await stored(target.id)).toMatchObject({ is_enabled: 0, disabled_by_admin: 1 });
      const denied = audited.filter((e) => e.action === 'apikey.updated' && e.outcome === 'denied');
      expect(denied).toHaveLength(1);
      expect(denied[0]).toMatchObject({ actor: `apikey:${member.id}`, entity_id: target.id, details: { reason: 'key_locked', enabled: true, owner_id: member.userId } });

      // The owner sees that an administrator disabled the key, not who did.
      const shown = await t.app.inject({ url: `/v1/keys/${target.id}`, headers: as(member.key) });
      expect(shown.json()).toMatchObject({ status: 'disabled', disabled_by_admin: true });
      expect(shown.body).not.toContain(manager.userId);
      expect(shown.body).not.toContain('apikey:');

      const on = await patch(as(manager.key), target.id, true);
      expect(on.statusCode).toBe(200);
      expect(on.json()).toMatchObject({ status: 'active', disabled_by_admin: false });
      expect(await stored(target.id)).toMatchObject({ is_enabled: 1, disabled_by: null, disabled_by_admin: 0 });
      expect(await verify(target.key)).toMatchObject({ valid: true });
    },
  );

  it('a stolen session of the owner (a user token) cannot lift the lock either', async () => {
    const authz = t.context.authz;
    if (authz === undefined) throw new Error('authz is not wired');
    const user = await seedUser(t);
    await authz.assignRole(ROOT, { userId: user.id, role: 'key-user' });
    const theirs = await keys.service.create({ name: 'svc', ownerId: user.id, permissions: ['keys:read'] }, SYSTEM);
    expect((await patch(as(admin.key), theirs.record.id, false)).statusCode).toBe(200);
    const session = bearer((await login(t.app, user.email)).access_token);
    const refused = await patch(session, theirs.record.id, true);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'key_locked' });
    expect(audited.find((e) => e.outcome === 'denied')).toMatchObject({ action: 'apikey.updated', actor: user.id, entity_id: theirs.record.id });
    expect(await verify(theirs.key)).toMatchObject({ valid: false, code: 'disabled' });
  });

  it('the owner re-enables a key they disabled themselves, and such a disable is not a lock', async () => {
    const off = await patch(as(member.key), target.id, false);
    expect(off.json()).toMatchObject({ status: 'disabled', disabled_by_admin: false });
    expect(await stored(target.id)).toMatchObject({ is_enabled: 0, disabled_by: `apikey:${member.id}`, disabled_by_admin: 0 });
    const on = await patch(as(member.key), target.id, true);
    expect(on.statusCode).toBe(200);
    expect(on.json()).toMatchObject({ status: 'active', disabled_by_admin: false });
    expect(await verify(target.key)).toMatchObject({ valid: true });
    expect(audited.filter((e) => e.outcome === 'denied')).toEqual([]);
  });

  it('the owner may still disable a locked key again (the lock and its author stay) and revoke it', async () => {
    await patch(as(admin.key), target.id, false);
    const again = await patch(as(member.key), target.id, false);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ status: 'disabled', disabled_by_admin: true });
    expect(await stored(target.id)).toMatchObject({ is_enabled: 0, disabled_by: `apikey:${admin.id}`, disabled_by_admin: 1 });
    expect((await patch(as(member.key), target.id, true)).json()).toMatchObject({ code: 'key_locked' });

    const revoked = await t.app.inject({ method: 'POST', url: `/v1/keys/${target.id}/revoke`, headers: as(member.key) });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json()).toMatchObject({ status: 'revoked' });
    expect(await verify(target.key)).toMatchObject({ valid: false, code: 'revoked' });
  });

  it('rotating a locked key yields a disabled replacement with the same lock; an unlocked one stays unlocked', async () => {
    await patch(as(admin.key), target.id, false);
    const rotated = await t.app.inject({ method: 'POST', url: `/v1/keys/${target.id}/rotate`, headers: as(member.key), payload: { grace_period_ms: 0 } });
    expect(rotated.statusCode).toBe(201);
    const replacement = rotated.json<{ key: string; id: string }>();
    expect(rotated.json()).toMatchObject({ status: 'disabled', disabled_by_admin: true, rotated_from: target.id });
    expect(await stored(replacement.id)).toMatchObject({ is_enabled: 0, disabled_by: `apikey:${admin.id}`, disabled_by_admin: 1 });
    const refused = await patch(as(member.key), replacement.id, true);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'key_locked' });
    expect(await verify(replacement.key)).toMatchObject({ valid: false, code: 'disabled' });
    expect((await patch(as(admin.key), replacement.id, true)).json()).toMatchObject({ status: 'active', disabled_by_admin: false });
    expect(await verify(replacement.key)).toMatchObject({ valid: true });

    const own = await keys.service.create({ name: 'own', ownerId: member.userId, permissions: ['keys:read'] }, SYSTEM);
    await patch(as(member.key), own.record.id, false);
    const ownRotated = await t.app.inject({ method: 'POST', url: `/v1/keys/${own.record.id}/rotate`, headers: as(member.key), payload: {} });
    expect(ownRotated.json()).toMatchObject({ status: 'disabled', disabled_by_admin: false });
    expect((await patch(as(member.key), ownRotated.json<{ id: string }>().id, true)).json()).toMatchObject({ status: 'active' });
  });

  it('an API key counts as its owner: an administrator\'s narrow key cannot lift another administrator\'s lock on the administrator\'s key, users:write can', async () => {
    const otherAdmin = await insertUser(t.context.storage.db, { admin: true });
    const otherKey = (await keys.service.create({ name: 'root2', ownerId: otherAdmin, permissions: ['*:*'] }, SYSTEM)).key;
    const narrow = (await keys.service.create({ name: 'narrow', ownerId: admin.userId, permissions: ['keys:read', 'keys:write'] }, SYSTEM)).key;
    const locked = await keys.service.create({ name: 'svc', ownerId: admin.userId, permissions: ['reports:read'] }, SYSTEM);
    expect((await patch(as(otherKey), locked.record.id, false)).json()).toMatchObject({ disabled_by_admin: true });
    const refused = await patch(as(narrow), locked.record.id, true);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'key_locked' });
    // The owner's own key with users:write manages owners, so it may lift the lock.
    expect((await patch(as(admin.key), locked.record.id, true)).json()).toMatchObject({ status: 'active' });
    // A disable by the owner's key, even one holding users:write, is the owner's and locks nothing.
    expect((await patch(as(admin.key), locked.record.id, false)).json()).toMatchObject({ status: 'disabled', disabled_by_admin: false });
    expect((await patch(as(narrow), locked.record.id, true)).json()).toMatchObject({ status: 'active' });
  });
});

describeEachDatabase('the disable lock when writes race', (dialect) => {
  let storage: Storage & { url: string };
  let usage: UsageTracker;
  const keyring = createPepperKeyring({ secretKey: 'disable-lock-secret-0123456789abcdef0123456789ab' });
  const bus = createMemoryInvalidationBus();
  const serviceOn = (db: Kysely<DatabaseSchema>): ApiKeyService =>
    new ApiKeyService({ db, keyring, usage, invalidation: bus, audit: () => ({ record: async () => undefined }), now: manualClock().now });

  beforeEach(async () => {
    storage = await createTestStorage(dialect);
    usage = new UsageTracker({ db: storage.db, flushIntervalMs: 0 });
  });
  afterEach(async () => {
    await usage.close();
    await storage.close();
  });

  // Staged on PostgreSQL only, as in key-state-races.test.ts: on SQLite the held transaction
  // keeps the single connection, so the competing write could not run meanwhile.
  it.runIf(dialect === 'postgres')('a lock committed between a rotation\'s read and its write fails the rotation: no unlocked replacement', async () => {
    const ownerId = await insertUser(storage.db);
    const service = serviceOn(storage.db);
    const issued = await service.create({ name: 'ci', ownerId, permissions: ['reports:read'] }, SYSTEM);
    await service.setEnabled(issued.record.id, false, { actor: ownerId }, OWNER);
    const instrumented = instrumentedDb(storage.db);
    const held = instrumented.holdNextResult(nthSelectFrom('api_keys', 2));
    const rotating = serviceOn(instrumented.db).rotate(issued.record.id, SYSTEM, { graceMs: 0 });
    rotating.catch(() => undefined);
    await held;
    await service.setEnabled(issued.record.id, false, { actor: 'admin-user' }, MANAGER);
    instrumented.release();
    await expect(rotating).rejects.toMatchObject({ code: 'conflict' });
    expect(await storage.db.selectFrom('api_keys').select('id').where('rotated_from', '=', issued.record.id).execute()).toEqual([]);
    expect(await service.get(issued.record.id)).toMatchObject({ enabled: false, disabledByAdmin: true, disabledBy: 'admin-user' });
  });

  it('a library caller without a standing acts as an operator: its disable locks the key against the owner', async () => {
    const ownerId = await insertUser(storage.db);
    const service = serviceOn(storage.db);
    const issued = await service.create({ name: 'ci', ownerId, permissions: ['reports:read'] }, SYSTEM);
    expect(await service.setEnabled(issued.record.id, false, SYSTEM)).toMatchObject({ enabled: false, disabledByAdmin: true, disabledBy: 'system' });
    await expect(service.setEnabled(issued.record.id, true, { actor: ownerId }, OWNER)).rejects.toMatchObject({ code: 'key_locked', status: 403 });
    expect(await service.setEnabled(issued.record.id, true, SYSTEM)).toMatchObject({ enabled: true, disabledByAdmin: false, disabledBy: undefined });
  });
});

/** Keys written before migration 0011, then upgraded. */
describeEachDatabase('migration 0011_apikey_disable_lock on a database that already has keys', (dialect) => {
  it('adds the columns with every existing key unlocked, so owners keep re-enabling keys they disabled before', async () => {
    const database = await createTestDatabase(dialect);
    const storage = openDatabase(database.url);
    const usage = new UsageTracker({ db: storage.db, flushIntervalMs: 0 });
    try {
      await migrateToLatest(storage, MIGRATIONS.filter((m) => m.name < '0011'));
      const ownerId = await insertUser(storage.db);
      // What the code before 0011 wrote: rows without the new columns.
      const before = storage.db as unknown as Kysely<{ api_keys: Omit<ApiKeysTable, 'disabled_by' | 'disabled_by_admin'> }>;
      const row = (id: string, enabled: boolean): Omit<ApiKeysTable, 'disabled_by' | 'disabled_by_admin'> => ({
        id,
        prefix: id.slice(0, 8),
        environment: 'live',
        key_hash: `hash-${id}`,
        hash_scheme: 'hmac-sha256',
        pepper_version: 1,
        lookup_hash: null,
        name: id,
        owner_id: ownerId,
        permissions: '[]',
        metadata: '{}',
        rate_limit: null,
        rate_limit_window_ms: null,
        is_enabled: enabled ? 1 : 0,
        created_by: 'system',
        created_at: 1_700_000_000_000,
        updated_at: 1_700_000_000_000,
        expires_at: null,
        revoked_at: null,
        revoked_reason: null,
        rotated_from: null,
        replaced_by: null,
        usage_count: 0,
        last_used_at: null,
        last_used_ip: null,
        import_fingerprint: null,
      });
      await before.insertInto('api_keys').values([row('oldenabled', true), row('olddisabled', false)]).execute();

      expect(await migrateToLatest(storage, MIGRATIONS.filter((m) => m.name < '0012'))).toEqual(['0011_apikey_disable_lock']);
      const rows = await storage.db.selectFrom('api_keys').select(['id', 'is_enabled', 'disabled_by', 'disabled_by_admin']).orderBy('id').execute();
      expect(rows).toEqual([
        { id: 'olddisabled', is_enabled: 0, disabled_by: null, disabled_by_admin: 0 },
        { id: 'oldenabled', is_enabled: 1, disabled_by: null, disabled_by_admin: 0 },
      ]);
      const service = new ApiKeyService({
        db: storage.db,
        keyring: createPepperKeyring({ secretKey: 'disable-lock-secret-0123456789abcdef0123456789ab' }),
        usage,
        invalidation: createMemoryInvalidationBus(),
        audit: () => ({ record: async () => undefined }),
      });
      expect(await service.get('olddisabled')).toMatchObject({ enabled: false, disabledByAdmin: false, disabledBy: undefined });
      expect(await service.setEnabled('olddisabled', true, { actor: ownerId }, OWNER)).toMatchObject({ enabled: true, disabledByAdmin: false });
    } finally {
      await usage.close();
      await storage.close();
      await database.cleanup();
    }
  });
});

describe('warden keys show tells a lock apart from the owner\'s own disable', () => {
  it('prints who disabled the key and whether its owner can re-enable it; --json carries disabled_by_admin', async () => {
    const database = await createTestDatabase('sqlite');
    const storage = openDatabase(database.url, { poolSize: 1, statementTimeoutMs: 10_000 });
    const usage = new UsageTracker({ db: storage.db, flushIntervalMs: 0 });
    vi.stubEnv('WARDEN_DATABASE_URL', database.url);
    vi.stubEnv('WARDEN_SECRET_KEY', TEST_SECRET_KEY);
    vi.stubEnv('WARDEN_DOTENV_FILE', '/dev/null');
    try {
      await migrateToLatest(storage);
      const ownerId = await insertUser(storage.db);
      const service = new ApiKeyService({
        db: storage.db,
        keyring: createPepperKeyring({ secretKey: TEST_SECRET_KEY }),
        usage,
        invalidation: createMemoryInvalidationBus(),
        audit: () => ({ record: async () => undefined }),
      });
      const locked = (await service.create({ name: 'locked', ownerId, permissions: [] }, SYSTEM)).record.id;
      await service.setEnabled(locked, false, { actor: 'admin-user-id' }, MANAGER);
      const own = (await service.create({ name: 'own', ownerId, permissions: [] }, SYSTEM)).record.id;
      await service.setEnabled(own, false, { actor: ownerId }, OWNER);

      const show = async (...args: string[]): Promise<string> => {
        const stdout: string[] = [];
        const io: CliIo = { out: (l) => void stdout.push(l), err: () => undefined, readStdin: async () => Buffer.from('') };
        expect(await runCli(['node', 'warden', 'keys', 'show', ...args], io)).toBe(0);
        return stdout.join('\n');
      };
      const lockedText = await show(locked);
      expect(lockedText).toMatch(/^status +disabled by an administrator \(its owner cannot re-enable it\)$/m);
      expect(lockedText).toMatch(/^disabled by +admin-user-id$/m);
      const ownText = await show(own);
      expect(ownText).toMatch(/^status +disabled$/m);
      expect(ownText).toMatch(new RegExp(`^disabled by +${ownerId}$`, 'm'));
      expect(JSON.parse(await show(locked, '--json'))).toMatchObject({ status: 'disabled', disabled_by_admin: true });
      expect(JSON.parse(await show(own, '--json'))).toMatchObject({ status: 'disabled', disabled_by_admin: false });
    } finally {
      vi.unstubAllEnvs();
      await usage.close();
      await storage.close();
      await database.cleanup();
    }
  });
});
