import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ApiKeys } from '../../src/apikeys/api-keys-domain.js';
import type { AuditEventInput } from '../../src/audit/audit-event.js';
import type { Principal } from '../../src/http/principal.js';
import { identityOf } from '../../src/identity/identity-service.js';
import { oauthOf } from '../../src/oauth/oauth-domain.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer, login, seedUser } from '../identity/identity-helpers.js';
import { basic, FORM } from './oauth-helpers.js';
import { tapAudit } from '../helpers/audit-tap.js';

const ROOT = { principal: { kind: 'client', subject: 'system', permissions: ['*:*'], credentialId: 'test' } satisfies Principal, auditActor: 'system' };
const HOUR = 3_600_000;
const iso = (ms: number): string => new Date(ms).toISOString();

describeEachDatabase('a client secret handed to an API key never outlives that key', (dialect) => {
  let t: TestApp;
  let keys: ApiKeys;
  let holder: { id: string; email: string };
  /** A key of `holder` with clients:read/clients:write, expiring in an hour, limited to 50 requests per minute. */
  let limited: { key: string; id: string; expiresAt: number };
  let audited: AuditEventInput[];

  beforeEach(async () => {
    t = await createTestApp({ dialect });
    keys = t.context.apiKeys as ApiKeys;
    await identityOf(t.context).initialise();
    const authz = t.context.authz;
    if (authz === undefined) throw new Error('authz is not wired');
    const user = await seedUser(t);
    holder = { id: user.id, email: user.email };
    await authz.createRole(ROOT, { name: 'client-manager', permissions: ['clients:read', 'clients:write', 'keys:read'] });
    await authz.assignRole(ROOT, { userId: holder.id, role: 'client-manager' });
    const expiresAt = Date.now() + HOUR;
    const issued = await keys.service.create(
      { name: 'short', ownerId: holder.id, permissions: ['clients:read', 'clients:write', 'keys:read'], expiresAt, rateLimit: { limit: 50, windowMs: 60_000 } },
      { actor: 'system' },
    );
    limited = { key: issued.key, id: issued.record.id, expiresAt };
    audited = tapAudit(t);
  });
  afterEach(async () => t.close());

  const as = (key: string): Record<string, string> => ({ 'x-api-key': key });
  const create = (key: string, body: Record<string, unknown>) =>
    t.app.inject({ method: 'POST', url: '/v1/clients', headers: as(key), payload: { name: 'escape', scopes: ['keys:read'], ...body } });
  const denied = (action: string) => audited.filter((e) => e.action === action && e.outcome === 'denied');

  it('refuses a client without an expiry, or expiring after the calling key, with privilege_escalation, audited as denied', async () => {
    for (const body of [{}, { expires_at: null }, { expires_at: iso(limited.expiresAt + 1000) }]) {
      const res = await create(limited.key, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(403);
      expect(res.json()).toMatchObject({ code: 'privilege_escalation', max_expires_at: iso(limited.expiresAt) });
      expect(res.json().detail).toMatch(/expires_at must be set and no later than/);
      expect(res.body).not.toContain('client_secret');
    }
    expect((await oauthOf(t.context).clients.list({ limit: 10 })).data).toHaveLength(0);
    const events = denied('client.created');
    expect(events).toHaveLength(3);
    expect(events[0]).toMatchObject({
      actor: `apikey:${limited.id}`,
      entity_type: 'oauth_client',
      details: { reason: 'privilege_escalation', max_expires_at: iso(limited.expiresAt) },
    });
    expect(events[0]?.entity_id).toBeUndefined();
  });

  it('creates a client expiring no later than the calling key', async () => {
    for (const expiresAt of [limited.expiresAt, limited.expiresAt - 60_000]) {
      const res = await create(limited.key, { expires_at: iso(expiresAt) });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({ expires_at: iso(expiresAt), client_secret: expect.stringMatching(/^wcs_/) });
    }
    expect(denied('client.created')).toHaveLength(0);
  });

  it('counts the end of a rotation grace period as the calling key\'s expiry', async () => {
    const unbounded = await keys.service.create({ name: 'unbounded', ownerId: holder.id, permissions: ['clients:write', 'keys:read'] }, { actor: 'system' });
    await keys.service.rotate(unbounded.record.id, { actor: 'system' }, { graceMs: 600_000 });
    const stopsAt = (await keys.service.get(unbounded.record.id))?.revokedAt as number;
    expect((await create(unbounded.key, {})).json()).toMatchObject({ code: 'privilege_escalation', max_expires_at: iso(stopsAt) });
    expect((await create(unbounded.key, { expires_at: iso(stopsAt) })).statusCode).toBe(201);
  });

  it('refuses to hand the calling key a new secret of a client that outlives it, and changes nothing', async () => {
    const clients = oauthOf(t.context).clients;
    const forever = await clients.create({ name: 'forever', ownerId: holder.id, scopes: ['keys:read'] }, { actor: 'system' });
    const later = await clients.create({ name: 'later', ownerId: holder.id, scopes: ['keys:read'], expiresAt: limited.expiresAt + HOUR }, { actor: 'system' });
    for (const target of [forever, later]) {
      const res = await t.app.inject({ method: 'POST', url: `/v1/clients/${target.client.client_id}/rotate`, headers: as(limited.key), payload: { grace_period_ms: 0 } });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ code: 'privilege_escalation', max_expires_at: iso(limited.expiresAt) });
      expect(res.json().detail).toMatch(target === forever ? /the client, which never expires/ : /the client, which expires at/);
      expect(res.body).not.toContain('client_secret');
      // The old secret still works: nothing was rotated.
      const grant = await t.app.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { ...FORM, authorization: basic(target.client.client_id, target.secret) },
        payload: 'grant_type=client_credentials',
      });
      expect(grant.statusCode).toBe(200);
    }
    expect(denied('client.rotated').map((e) => e.entity_id)).toEqual([forever.client.client_id, later.client.client_id]);
    expect(denied('client.rotated')[0]).toMatchObject({ actor: `apikey:${limited.id}`, details: { reason: 'privilege_escalation', max_expires_at: iso(limited.expiresAt) } });

    const within = await clients.create({ name: 'within', ownerId: holder.id, scopes: ['keys:read'], expiresAt: limited.expiresAt }, { actor: 'system' });
    const rotated = await t.app.inject({ method: 'POST', url: `/v1/clients/${within.client.client_id}/rotate`, headers: as(limited.key), payload: {} });
    expect(rotated.statusCode).toBe(200);
  });

  it('binds neither users (JWT) nor keys without an end of their own', async () => {
    const session = bearer((await login(t.app, holder.email)).access_token);
    const byUser = await t.app.inject({ method: 'POST', url: '/v1/clients', headers: session, payload: { name: 'u', scopes: ['keys:read'] } });
    expect(byUser.statusCode).toBe(201);
    expect(byUser.json().expires_at).toBeNull();
    const unbounded = await keys.service.create({ name: 'unbounded', ownerId: holder.id, permissions: ['clients:write', 'keys:read'] }, { actor: 'system' });
    const byKey = await create(unbounded.key, {});
    expect(byKey.statusCode).toBe(201);
    expect(byKey.json().expires_at).toBeNull();
  });
});
