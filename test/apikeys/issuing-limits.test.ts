import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ApiKeys } from '../../src/apikeys/api-keys-domain.js';
import type { AuditEventInput } from '../../src/audit/audit-event.js';
import type { Principal } from '../../src/http/principal.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer, login, seedUser } from '../identity/identity-helpers.js';
import { insertUser } from './fixtures.js';
import { tapAudit } from '../helpers/audit-tap.js';

const ROOT = { principal: { kind: 'client', subject: 'system', permissions: ['*:*'], credentialId: 'test' } satisfies Principal, auditActor: 'system' };
const HOUR = 3_600_000;

describeEachDatabase('keys issued by an API key stay within its own expiry and rate limit', (dialect) => {
  let t: TestApp;
  let keys: ApiKeys;
  let holder: string;
  /** A key of `holder` with keys:read/keys:write, expiring in an hour, limited to 100 requests per hour. */
  let limited: { key: string; id: string; expiresAt: number };
  let audited: AuditEventInput[];

  beforeEach(async () => {
    t = await createTestApp({ dialect });
    keys = t.context.apiKeys as ApiKeys;
    const authz = t.context.authz;
    if (authz === undefined) throw new Error('authz is not wired');
    holder = await insertUser(t.context.storage.db);
    await authz.createRole(ROOT, { name: 'key-manager', permissions: ['keys:read', 'keys:write'] });
    await authz.assignRole(ROOT, { userId: holder, role: 'key-manager' });
    const expiresAt = Date.now() + HOUR;
    const issued = await keys.service.create(
      { name: 'limited', ownerId: holder, permissions: ['keys:read', 'keys:write'], expiresAt, rateLimit: { limit: 100, windowMs: HOUR } },
      { actor: 'system' },
    );
    limited = { key: issued.key, id: issued.record.id, expiresAt };
    audited = tapAudit(t);
  });
  afterEach(async () => t.close());

  const as = (key: string): Record<string, string> => ({ 'x-api-key': key });
  const iso = (ms: number): string => new Date(ms).toISOString();
  const create = (key: string, body: Record<string, unknown>) =>
    t.app.inject({ method: 'POST', url: '/v1/keys', headers: as(key), payload: { name: 'child', owner_id: holder, permissions: ['keys:read'], ...body } });

  it('refuses a child without an expiry, or expiring after the calling key, with privilege_escalation', async () => {
    const withinRate = { rate_limit: { limit: 10, window_ms: HOUR } };
    for (const body of [withinRate, { ...withinRate, expires_at: iso(limited.expiresAt + 1) }]) {
      const res = await create(limited.key, body);
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ code: 'privilege_escalation', max_expires_at: iso(limited.expiresAt) });
      expect(res.json().detail).toMatch(/expires_at must be set and no later than/);
      expect(res.body).not.toMatch(/wdn_/);
    }
    expect((await keys.service.list({ ownerId: holder, limit: 10 })).data).toHaveLength(1);
    const denied = audited.filter((e) => e.action === 'apikey.created' && e.outcome === 'denied');
    expect(denied).toHaveLength(2);
    expect(denied[0]).toMatchObject({ actor: `apikey:${limited.id}`, details: { reason: 'privilege_escalation', max_expires_at: iso(limited.expiresAt) } });
    const ok = await create(limited.key, { ...withinRate, expires_at: iso(limited.expiresAt) });
    expect(ok.statusCode).toBe(201);
  });

  it('refuses a child without a rate limit or with a looser one (a higher limit per window), and accepts an equal or tighter one', async () => {
    const expires_at = iso(limited.expiresAt - 1000);
    for (const rate_limit of [undefined, { limit: 101, window_ms: HOUR }, { limit: 2, window_ms: 60_000 }]) {
      const res = await create(limited.key, { expires_at, ...(rate_limit === undefined ? {} : { rate_limit }) });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ code: 'privilege_escalation', max_rate_limit: `100/${HOUR}ms` });
      expect(res.json().detail).toMatch(/rate_limit must be set and allow no more than 100 per 3600000 ms/);
    }
    for (const rate_limit of [{ limit: 100, window_ms: HOUR }, { limit: 50, window_ms: HOUR / 2 }, { limit: 1, window_ms: 24 * HOUR }]) {
      expect((await create(limited.key, { expires_at, rate_limit })).statusCode).toBe(201);
    }
  });

  it('refuses to rotate a key whose replacement would keep looser limits than the calling key, and changes nothing', async () => {
    const open = await keys.service.create({ name: 'open', ownerId: holder, permissions: ['keys:read'] }, { actor: 'system' });
    const res = await t.app.inject({ method: 'POST', url: `/v1/keys/${open.record.id}/rotate`, headers: as(limited.key), payload: {} });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'privilege_escalation' });
    expect(res.json().detail).toMatch(/replacement would keep no expiry/);
    expect(res.json().detail).toMatch(/no rate limit/);
    expect(res.body).not.toMatch(/wdn_/);
    expect((await keys.service.get(open.record.id))?.replacedBy).toBeUndefined();
    expect(await keys.verifier.verify(open.key)).toMatchObject({ valid: true });
    // A key whose settings are within the caller's may be rotated (here: the calling key itself).
    const self = await t.app.inject({ method: 'POST', url: `/v1/keys/${limited.id}/rotate`, headers: as(limited.key), payload: { grace_period_ms: 60_000 } });
    expect(self.statusCode).toBe(201);
  });

  it('counts the end of a rotation grace period as the calling key\'s expiry', async () => {
    const unbounded = await keys.service.create({ name: 'unbounded', ownerId: holder, permissions: ['keys:read', 'keys:write'] }, { actor: 'system' });
    await keys.service.rotate(unbounded.record.id, { actor: 'system' }, { graceMs: 600_000 });
    const stopsAt = (await keys.service.get(unbounded.record.id))?.revokedAt as number;
    expect((await create(unbounded.key, {})).statusCode).toBe(403);
    expect((await create(unbounded.key, { expires_at: iso(stopsAt + 1) })).json()).toMatchObject({ code: 'privilege_escalation', max_expires_at: iso(stopsAt) });
    // No rate limit on the caller: none is required of the child.
    expect((await create(unbounded.key, { expires_at: iso(stopsAt) })).statusCode).toBe(201);
  });

  it('binds neither users (JWT) nor keys without limits of their own', async () => {
    const admin = await seedUser(t, { isAdmin: true });
    const tokens = await login(t.app, admin.email);
    const byUser = await t.app.inject({ method: 'POST', url: '/v1/keys', headers: bearer(tokens.access_token), payload: { name: 'u', owner_id: admin.id, permissions: ['keys:read'] } });
    expect(byUser.statusCode).toBe(201);
    expect(byUser.json()).toMatchObject({ expires_at: null, rate_limit: null });
    const unlimited = await keys.service.create({ name: 'unlimited', ownerId: holder, permissions: ['keys:read', 'keys:write'] }, { actor: 'system' });
    const byKey = await create(unlimited.key, {});
    expect(byKey.statusCode).toBe(201);
    expect(byKey.json()).toMatchObject({ expires_at: null, rate_limit: null });
  });
});
