import { afterEach, expect, it } from 'vitest';
import type { ApiKeys } from '../../src/apikeys/api-keys-domain.js';
import type { CreateKeyInput } from '../../src/apikeys/api-key-service.js';
import type { Principal } from '../../src/http/principal.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer, login, seedUser } from '../identity/identity-helpers.js';
import { basic, FORM, seedClient, type SeededClient } from './oauth-helpers.js';

const ROOT = { principal: { kind: 'client', subject: 'system', permissions: ['*:*'], credentialId: 'test' } satisfies Principal, auditActor: 'system' };
const WINDOW = 600_000;

/** How a key is refused at the moment it is revoked; each could otherwise work again later. */
const STATES = ['rate-limited', 'disabled by its owner', 'owned by a deactivated user', 'expired'] as const;
type State = (typeof STATES)[number];

describeEachDatabase('POST /oauth/revoke revokes any API key it can identify, whatever its state (RFC 7009)', (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  const keys = (): ApiKeys => t.context.apiKeys as ApiKeys;
  const revoke = (c: SeededClient, token: string) =>
    t.app.inject({ method: 'POST', url: '/oauth/revoke', headers: { ...FORM, authorization: basic(c.clientId, c.secret) }, payload: new URLSearchParams({ token }).toString() });
  const useKey = (key: string) => t.app.inject({ url: '/v1/keys', headers: { 'x-api-key': key } });
  const revocations = (keyId: string) =>
    t.context.storage.db.selectFrom('audit_events').select(['actor', 'outcome']).where('action', '=', 'apikey.revoked').where('entity_id', '=', keyId).execute();

  /** A revoking client (admin-owned, tokens:revoke), an administrator's session, and a non-admin key owner with keys:read/keys:write. */
  async function setup(): Promise<{ revoker: SeededClient; admin: Record<string, string>; owner: { id: string; email: string } }> {
    t = await createTestApp({ dialect });
    const revoker = await seedClient(t, ['tokens:revoke']);
    const adminUser = await seedUser(t, { isAdmin: true });
    const admin = bearer((await login(t.app, adminUser.email)).access_token);
    const authz = t.context.authz;
    if (authz === undefined) throw new Error('authz is not wired');
    const owner = await seedUser(t);
    await authz.createRole(ROOT, { name: 'key-owner', permissions: ['keys:read', 'keys:write'] });
    await authz.assignRole(ROOT, { userId: owner.id, role: 'key-owner' });
    return { revoker, admin, owner: { id: owner.id, email: owner.email } };
  }

  /** Puts a fresh key of `ownerId` into `state` through the ways a caller would. */
  async function keyIn(state: State, ownerId: string, ownerEmail: string, admin: Record<string, string>): Promise<{ key: string; id: string }> {
    const input: CreateKeyInput = { name: state, ownerId, permissions: ['keys:read'], ...(state === 'rate-limited' ? { rateLimit: { limit: 2, windowMs: WINDOW } } : {}) };
    const { key, record } = await keys().service.create(input, { actor: 'system' });
    if (state === 'rate-limited') {
      // The attacker holding the leaked key spends its limit.
      const statuses = [];
      for (let i = 0; i < 3; i += 1) statuses.push((await useKey(key)).statusCode);
      expect(statuses).toEqual([200, 200, 429]);
    } else if (state === 'disabled by its owner') {
      const ownerAuth = bearer((await login(t.app, ownerEmail)).access_token);
      const disabled = await t.app.inject({ method: 'PATCH', url: `/v1/keys/${record.id}`, headers: ownerAuth, payload: { enabled: false } });
      expect(disabled.json()).toMatchObject({ status: 'disabled', disabled_by_admin: false });
    } else if (state === 'owned by a deactivated user') {
      expect((await t.app.inject({ method: 'PATCH', url: `/v1/users/${ownerId}`, headers: admin, payload: { is_active: false } })).statusCode).toBe(200);
      expect((await useKey(key)).json()).toMatchObject({ code: 'key_disabled' });
    } else {
      await t.context.storage.db.updateTable('api_keys').set({ expires_at: Date.now() - 1000 }).where('id', '=', record.id).execute();
      expect((await t.app.inject({ url: `/v1/keys/${record.id}`, headers: admin })).json()).toMatchObject({ status: 'expired' });
    }
    return { key, id: record.id };
  }

  for (const state of STATES) {
    it(`revokes a key that is ${state}, and its owner cannot bring it back`, async () => {
      const { revoker, admin, owner } = await setup();
      const { key, id } = await keyIn(state, owner.id, owner.email, admin);

      const response = await revoke(revoker, key);
      expect(response.statusCode).toBe(200);
      expect(response.body).toBe('');
      const shown = (await t.app.inject({ url: `/v1/keys/${id}`, headers: admin })).json();
      expect(shown.status).toBe('revoked');
      expect(shown.revoked_at).not.toBeNull();
      // Through the service's revoke: audited as the client's act.
      expect(await revocations(id)).toEqual([{ actor: `client:${revoker.clientId}`, outcome: 'success' }]);

      // Whatever made the key refused before is undone; it stays revoked.
      if (state === 'owned by a deactivated user') {
        expect((await t.app.inject({ method: 'PATCH', url: `/v1/users/${owner.id}`, headers: admin, payload: { is_active: true } })).statusCode).toBe(200);
      }
      const ownerAuth = bearer((await login(t.app, owner.email)).access_token);
      await t.app.inject({ method: 'PATCH', url: `/v1/keys/${id}`, headers: ownerAuth, payload: { enabled: true } });
      const afterwards = await useKey(key);
      expect(afterwards.statusCode).toBe(401);
      expect(afterwards.json()).toMatchObject({ code: 'key_revoked' });
      expect((await t.app.inject({ url: `/v1/keys/${id}`, headers: admin })).json()).toMatchObject({ status: 'revoked', revoked_at: shown.revoked_at });
    });
  }

  it("neither uses the key (usage, last use) nor takes from its rate limit", async () => {
    const { revoker } = await setup();
    const { key, record } = await keys().service.create(
      { name: 'limited', ownerId: revoker.ownerId, permissions: ['keys:read'], rateLimit: { limit: 3, windowMs: WINDOW } },
      { actor: 'system' },
    );
    expect((await useKey(key)).statusCode).toBe(200);
    expect((await useKey(key)).statusCode).toBe(200);
    const before = await keys().service.get(record.id);
    expect(before?.usageCount).toBe(2);

    expect((await revoke(revoker, key)).statusCode).toBe(200);
    const after = await keys().service.get(record.id);
    expect(after?.revokedAt).toBeDefined();
    expect(after?.usageCount).toBe(2);
    expect(after?.lastUsedAt).toBe(before?.lastUsedAt);
    // The key's own counter (the verifier's policy for a limit of 3 per window) still has its third request.
    const counter = t.context.rateLimits.limiter({ name: `apikey:3:${WINDOW}`, limit: 3, windowMs: WINDOW });
    expect(await counter.limit(`apikey:${record.id}`)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('revokes a key in its rotation grace period, treats an already revoked key as a no-op, and always answers 200', async () => {
    const { revoker } = await setup();
    const old = await keys().service.create({ name: 'old', ownerId: revoker.ownerId, permissions: ['keys:read'] }, { actor: 'system' });
    const replacement = await keys().service.rotate(old.record.id, { actor: 'system' }, { graceMs: 3_600_000 });
    expect((await useKey(old.key)).statusCode).toBe(200);

    expect((await revoke(revoker, old.key)).statusCode).toBe(200);
    expect((await useKey(old.key)).json()).toMatchObject({ code: 'key_revoked' });
    expect((await revoke(revoker, old.key)).statusCode).toBe(200);
    expect(await revocations(old.record.id)).toHaveLength(1);
    // The replacement is another key: untouched.
    expect((await useKey(replacement.key)).statusCode).toBe(200);

    const unknown = `${old.key.slice(0, 20)}${'A'.repeat(old.key.length - 20)}`;
    for (const token of [unknown, 'wdn_live_nonsense', 'wdn_test_']) expect((await revoke(revoker, token)).statusCode).toBe(200);
  });

  it('still needs tokens:revoke (held by the client and its owner) to revoke an API key, in any state', async () => {
    const { admin, owner } = await setup();
    const plain = await seedClient(t, ['keys:read']);
    const { key, id } = await keyIn('disabled by its owner', owner.id, owner.email, admin);
    expect((await revoke(plain, key)).statusCode).toBe(200);
    expect((await t.app.inject({ url: `/v1/keys/${id}`, headers: admin })).json()).toMatchObject({ status: 'disabled', revoked_at: null });
    expect(await revocations(id)).toEqual([]);
  });
});
