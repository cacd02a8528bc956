import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ApiKeys } from '../../src/apikeys/api-keys-domain.js';
import type { AuditEventInput } from '../../src/audit/audit-event.js';
import type { Principal } from '../../src/http/principal.js';
import { oauthOf } from '../../src/oauth/oauth-domain.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer, seedUser } from '../identity/identity-helpers.js';
import { basic, FORM, seedClient, type SeededClient } from './oauth-helpers.js';
import { tapAudit } from '../helpers/audit-tap.js';

const ROOT = { principal: { kind: 'client', subject: 'system', permissions: ['*:*'], credentialId: 'test' } satisfies Principal, auditActor: 'system' };
const HOUR = 3_600_000;
const iso = (ms: number): string => new Date(ms).toISOString();
/** What managing another user's keys and clients needs (a client owns none of its own). */
const SCOPES = ['users:read', 'users:write', 'keys:read', 'keys:write', 'clients:read', 'clients:write'];

// What an OAuth client hands out through its token (API keys, client secrets) ends no later
// than the client itself, as for an API key acting as the caller (src/apikeys/issuer-limits.ts).
describeEachDatabase('keys and client secrets handed out by an OAuth client never outlive it', (dialect) => {
  let t: TestApp;
  let keys: ApiKeys;
  /** A user who is no administrator and holds keys:read, whose credentials the client manages. */
  let target: string;
  /** A client expiring in an hour. */
  let bot: SeededClient & { expiresAt: number; auth: Record<string, string> };
  let audited: AuditEventInput[];

  const tokenOf = async (client: SeededClient): Promise<Record<string, string>> => {
    const res = await t.app.inject({ method: 'POST', url: '/oauth/token', headers: { ...FORM, authorization: basic(client.clientId, client.secret) }, payload: 'grant_type=client_credentials' });
    expect(res.statusCode).toBe(200);
    return bearer((res.json() as { access_token: string }).access_token);
  };

  beforeEach(async () => {
    t = await createTestApp({ dialect });
    keys = t.context.apiKeys as ApiKeys;
    const expiresAt = Date.now() + HOUR;
    const seeded = await seedClient(t, SCOPES, { expiresAt });
    bot = { ...seeded, expiresAt, auth: await tokenOf(seeded) };
    const authz = t.context.authz;
    if (authz === undefined) throw new Error('authz is not wired');
    target = (await seedUser(t)).id;
    await authz.createRole(ROOT, { name: 'key-reader', permissions: ['keys:read'] });
    await authz.assignRole(ROOT, { userId: target, role: 'key-reader' });
    audited = tapAudit(t);
  });
  afterEach(async () => t.close());

  const createKey = (auth: Record<string, string>, body: Record<string, unknown>) =>
    t.app.inject({ method: 'POST', url: '/v1/keys', headers: auth, payload: { name: 'child', owner_id: target, permissions: ['keys:read'], ...body } });
  const createClient = (auth: Record<string, string>, body: Record<string, unknown>) =>
    t.app.inject({ method: 'POST', url: '/v1/clients', headers: auth, payload: { name: 'child', owner_id: target, scopes: ['keys:read'], ...body } });
  const denied = (action: string) => audited.filter((e) => e.action === action && e.outcome === 'denied');

  it('refuses a key without an expiry, or expiring after the calling client, audited as denied; accepts one within', async () => {
    for (const body of [{}, { expires_at: iso(bot.expiresAt + 1000) }]) {
      const res = await createKey(bot.auth, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(403);
      expect(res.json()).toMatchObject({ code: 'privilege_escalation', max_expires_at: iso(bot.expiresAt) });
      expect(res.json().detail).toMatch(/expires_at must be set and no later than .*, when the calling OAuth client stops working/);
      expect(res.body).not.toMatch(/wdn_/);
    }
    expect((await keys.service.list({ ownerId: target, limit: 10 })).data).toHaveLength(0);
    expect(denied('apikey.created')).toEqual([
      expect.objectContaining({ actor: `client:${bot.clientId}`, details: { reason: 'privilege_escalation', max_expires_at: iso(bot.expiresAt) } }),
      expect.objectContaining({ actor: `client:${bot.clientId}` }),
    ]);
    // A client has no rate limit of its own, so the key needs none either.
    const ok = await createKey(bot.auth, { expires_at: iso(bot.expiresAt) });
    expect(ok.statusCode).toBe(201);
    expect(ok.json()).toMatchObject({ expires_at: iso(bot.expiresAt), rate_limit: null });
  });

  it('refuses to rotate a key that outlives the calling client, and changes nothing', async () => {
    const forever = await keys.service.create({ name: 'forever', ownerId: target, permissions: ['keys:read'] }, { actor: 'system' });
    const res = await t.app.inject({ method: 'POST', url: `/v1/keys/${forever.record.id}/rotate`, headers: bot.auth, payload: {} });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'privilege_escalation', max_expires_at: iso(bot.expiresAt) });
    expect(res.json().detail).toMatch(/the replacement would keep no expiry/);
    expect((await keys.service.get(forever.record.id))?.replacedBy).toBeUndefined();
    expect(denied('apikey.rotated')).toEqual([expect.objectContaining({ actor: `client:${bot.clientId}`, entity_id: forever.record.id })]);

    const within = await keys.service.create({ name: 'within', ownerId: target, permissions: ['keys:read'], expiresAt: bot.expiresAt - 1000 }, { actor: 'system' });
    expect((await t.app.inject({ method: 'POST', url: `/v1/keys/${within.record.id}/rotate`, headers: bot.auth, payload: {} })).statusCode).toBe(201);
  });

  it('refuses a client without an expiry, or expiring after the calling client, audited as denied; accepts one within', async () => {
    for (const body of [{}, { expires_at: null }, { expires_at: iso(bot.expiresAt + 1000) }]) {
      const res = await createClient(bot.auth, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(403);
      expect(res.json()).toMatchObject({ code: 'privilege_escalation', max_expires_at: iso(bot.expiresAt) });
      expect(res.body).not.toContain('client_secret');
    }
    expect((await oauthOf(t.context).clients.list({ ownerId: target, limit: 10 })).data).toHaveLength(0);
    expect(denied('client.created')).toHaveLength(3);
    expect(denied('client.created')[0]).toMatchObject({
      actor: `client:${bot.clientId}`,
      entity_type: 'oauth_client',
      details: { reason: 'privilege_escalation', max_expires_at: iso(bot.expiresAt) },
    });
    const ok = await createClient(bot.auth, { expires_at: iso(bot.expiresAt) });
    expect(ok.statusCode).toBe(201);
    expect(ok.json()).toMatchObject({ expires_at: iso(bot.expiresAt), client_secret: expect.stringMatching(/^wcs_/) });
  });

  it('refuses to rotate a client that outlives the calling client, and changes nothing', async () => {
    const clients = oauthOf(t.context).clients;
    const forever = await clients.create({ name: 'forever', ownerId: target, scopes: ['keys:read'] }, { actor: 'system' });
    const res = await t.app.inject({ method: 'POST', url: `/v1/clients/${forever.client.client_id}/rotate`, headers: bot.auth, payload: { grace_period_ms: 0 } });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'privilege_escalation', max_expires_at: iso(bot.expiresAt) });
    expect(res.json().detail).toMatch(/the client, which never expires/);
    expect(await clients.get(forever.client.client_id)).toMatchObject({ previous_secret_expires_at: null });
    expect(denied('client.rotated')).toEqual([expect.objectContaining({ actor: `client:${bot.clientId}`, entity_id: forever.client.client_id })]);

    const within = await clients.create({ name: 'within', ownerId: target, scopes: ['keys:read'], expiresAt: bot.expiresAt }, { actor: 'system' });
    expect((await t.app.inject({ method: 'POST', url: `/v1/clients/${within.client.client_id}/rotate`, headers: bot.auth, payload: {} })).statusCode).toBe(200);
  });

  it('does not bind a client without an expiry of its own', async () => {
    const unbounded = await seedClient(t, SCOPES);
    const auth = await tokenOf(unbounded);
    const key = await createKey(auth, {});
    expect(key.statusCode).toBe(201);
    expect(key.json().expires_at).toBeNull();
    const client = await createClient(auth, {});
    expect(client.statusCode).toBe(201);
    expect(client.json().expires_at).toBeNull();
  });
});
