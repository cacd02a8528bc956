import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiKeys } from '../../src/apikeys/api-keys-domain.js';
import { generateApiKey } from '../../src/apikeys/key-format.js';
import { metrics } from '../../src/http/metrics.js';
import { rateLimits } from '../../src/ratelimit/rate-limit-plugin.js';
import { createRateLimitService } from '../../src/ratelimit/rate-limit-service.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createTestRedis, describeWithRedis, type TestRedis } from '../helpers/redis.js';
import { insertTestUser } from '../helpers/users.js';
import { basic, FORM, seedClient } from '../oauth/oauth-helpers.js';

// Every route that authenticates its caller is limited per client IP before it authenticates,
// and a flood of made-up credentials leaves a bounded number of audit rows (F4).
const LIMIT = 5;
const FLOOD = 40;

let t: TestApp;
afterEach(async () => {
  await t.close();
});

/** The statuses of `count` requests sent one after another. */
async function statuses(count: number, send: () => Promise<{ statusCode: number }>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i += 1) out.push((await send()).statusCode);
  return out;
}

/** The audit rows of an action, oldest first, with their details parsed. */
async function auditRows(action: string): Promise<{ actor: string; details: Record<string, unknown> }[]> {
  const rows = await t.context.storage.db.selectFrom('audit_events').select(['actor', 'details']).where('action', '=', action).orderBy('seq').execute();
  return rows.map((r) => ({ actor: r.actor, details: JSON.parse(r.details ?? '{}') as Record<string, unknown> }));
}

const randomKey = (): string => generateApiKey('live');
const randomClient = (): string => basic(randomUUID(), 'wcs_not-the-secret');

describe('routes that authenticate their caller: a per-IP limit before authentication, and sampled failure events', () => {
  it('GET /metrics: 429 once the per-IP budget is spent; one audit row for a flood of unknown keys', async () => {
    t = await createTestApp({ env: { WARDEN_RATELIMIT_DEFAULT: `${LIMIT}/60s` } });
    const codes = await statuses(FLOOD, () => t.app.inject({ url: '/metrics', headers: { 'x-api-key': randomKey() } }));
    expect(codes.slice(0, LIMIT)).toEqual(Array(LIMIT).fill(401));
    expect(codes.slice(LIMIT)).toEqual(Array(FLOOD - LIMIT).fill(429));
    const rows = await auditRows('apikey.verification_denied');
    // The first failure is recorded; the others (same address, same kind) are suppressed.
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows.length).toBeLessThanOrEqual(2);
    expect(rows[0]).toEqual({ actor: 'anonymous', details: { code: 'not_found', via: 'credential' } });
  });

  it('POST /v1/ratelimit: failed authentications spend a per-IP budget; authenticated callers spend none', async () => {
    t = await createTestApp({ env: { WARDEN_RATELIMIT_DEFAULT: `${LIMIT}/60s` } });
    const ownerId = await insertTestUser(t.context.storage.db, { isAdmin: true });
    const service = (t.context.apiKeys as ApiKeys).service;
    const key = (await service.create({ name: 'svc', ownerId, permissions: ['ratelimit:check'] }, { actor: 'system' })).key;
    const check = (apiKey: string, remoteAddress = '127.0.0.1') =>
      t.app.inject({ method: 'POST', url: '/v1/ratelimit', remoteAddress, headers: { 'x-api-key': apiKey }, payload: { identifier: 'x', limit: 1_000_000, window_ms: 60_000 } });
    // A trusted application checks far more often than the per-IP limit allows anyone else.
    expect(await statuses(3 * LIMIT, () => check(key))).toEqual(Array(3 * LIMIT).fill(200));
    const codes = await statuses(FLOOD, () => check(randomKey()));
    // The spend that goes over the budget (the 6th failure) starts the block; looks deny from then on.
    expect(codes.slice(0, LIMIT + 1)).toEqual(Array(LIMIT + 1).fill(401));
    expect(codes.slice(LIMIT + 1)).toEqual(Array(FLOOD - LIMIT - 1).fill(429));
    const denied = await check(randomKey());
    expect(denied.json()).toMatchObject({ code: 'rate_limited' });
    expect(denied.headers['ratelimit-policy']).toBe(`"failed-auth-60s";q=${LIMIT};w=60`);
    // The address is blocked, for everyone at it (as the login throttle's IP tier); others are not.
    expect((await check(key)).statusCode).toBe(429);
    expect((await check(key, '198.51.100.7')).statusCode).toBe(200);
    const rows = await auditRows('apikey.verification_denied');
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows.length).toBeLessThanOrEqual(2);
  });

  it('POST /oauth/introspect and /oauth/revoke: 429 once the per-IP budget is spent; one client.auth.failed row per address', async () => {
    t = await createTestApp({ env: { WARDEN_RATELIMIT_DEFAULT: `${LIMIT}/60s` } });
    for (const url of ['/oauth/introspect', '/oauth/revoke']) {
      const codes = await statuses(FLOOD, () => t.app.inject({ method: 'POST', url, headers: { ...FORM, authorization: randomClient() }, payload: 'token=x' }));
      expect(codes.slice(0, LIMIT)).toEqual(Array(LIMIT).fill(401));
      expect(codes.slice(LIMIT)).toEqual(Array(FLOOD - LIMIT).fill(429));
    }
    const rows = await auditRows('client.auth.failed');
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows.length).toBeLessThanOrEqual(2);
    expect(rows[0]?.details).toMatchObject({ reason: 'unknown_client' });
  });

  it('an address locked out by the OAuth throttle is not recorded once per request', async () => {
    t = await createTestApp({ env: { WARDEN_RATELIMIT_DEFAULT: '1000/60s', WARDEN_LOGIN_MAX_FAILURES_PER_IP: '3' } });
    const client = await seedClient(t, ['tokens:introspect']);
    const introspect = (authorization: string) => t.app.inject({ method: 'POST', url: '/oauth/introspect', headers: { ...FORM, authorization }, payload: 'token=x' });
    // A known client with a wrong secret: recorded every time, until the address is locked out.
    const wrong = await statuses(3, () => introspect(basic(client.clientId, 'wcs_wrong')));
    expect(wrong).toEqual([401, 401, 401]);
    const codes = await statuses(FLOOD, () => introspect(randomClient()));
    expect(codes).toEqual(Array(FLOOD).fill(429));
    const reasons = (await auditRows('client.auth.failed')).map((r) => r.details.reason);
    expect(reasons.slice(0, 3)).toEqual(['bad_secret', 'bad_secret', 'bad_secret']);
    // The lockout's first refusal is recorded; the flood behind it is not.
    expect(reasons.filter((r) => r === 'throttled').length).toBeGreaterThanOrEqual(1);
    expect(reasons.length).toBeLessThanOrEqual(5);
  });

  it('records every use of a known revoked key', async () => {
    t = await createTestApp({ env: { WARDEN_RATELIMIT_DEFAULT: '1000/60s' } });
    const ownerId = await insertTestUser(t.context.storage.db, { isAdmin: true });
    const service = (t.context.apiKeys as ApiKeys).service;
    const issued = await service.create({ name: 'leaked', ownerId, permissions: ['keys:read', 'ratelimit:check'] }, { actor: 'system' });
    await service.revoke(issued.record.id, { actor: 'system' });
    const uses = [
      () => t.app.inject({ url: '/v1/keys', headers: { 'x-api-key': issued.key } }),
      () => t.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${issued.key}` } }),
      () => t.app.inject({ method: 'POST', url: '/v1/ratelimit', headers: { 'x-api-key': issued.key }, payload: { identifier: 'x', limit: 5, window_ms: 1000 } }),
    ];
    for (const use of uses) expect(await statuses(4, use)).toEqual([401, 401, 401, 401]);
    const rows = await auditRows('apikey.verification_denied');
    expect(rows).toHaveLength(12);
    for (const row of rows) expect(row).toMatchObject({ actor: `apikey:${issued.record.id}`, details: { code: 'revoked' } });
  });
});

describeWithRedis('POST /v1/ratelimit with the counters in Redis', () => {
  let redis: TestRedis;
  afterEach(async () => {
    await redis.cleanup();
  });

  it('spends the per-IP budget on failed authentications only, and then answers 429', async () => {
    redis = await createTestRedis();
    t = await createTestApp({ env: { WARDEN_RATELIMIT_DEFAULT: `${LIMIT}/60s`, WARDEN_REDIS_URL: redis.url, WARDEN_REDIS_KEY_PREFIX: redis.prefix } });
    for (let i = 0; i < 100 && t.context.redis?.status !== 'ready'; i += 1) await new Promise((r) => setTimeout(r, 20));
    expect(t.context.rateLimits.backend).toBe('redis');
    const ownerId = await insertTestUser(t.context.storage.db, { isAdmin: true });
    const key = (await (t.context.apiKeys as ApiKeys).service.create({ name: 'svc', ownerId, permissions: ['ratelimit:check'] }, { actor: 'system' })).key;
    const check = (apiKey: string) =>
      t.app.inject({ method: 'POST', url: '/v1/ratelimit', headers: { 'x-api-key': apiKey }, payload: { identifier: 'x', limit: 1_000_000, window_ms: 60_000 } });
    expect(await statuses(3 * LIMIT, () => check(key))).toEqual(Array(3 * LIMIT).fill(200));
    const codes = await statuses(FLOOD, () => check(randomKey()));
    // A failure is spent after its answer, in a Redis round trip of its own: a look sent right
    // after it may pass it, so the 401s may run one or two past LIMIT + 1, never more.
    const firstDenied = codes.indexOf(429);
    expect(firstDenied).toBeGreaterThanOrEqual(LIMIT + 1);
    expect(firstDenied).toBeLessThanOrEqual(LIMIT + 3);
    expect(codes.slice(0, firstDenied).every((c) => c === 401)).toBe(true);
    expect(codes.slice(firstDenied).every((c) => c === 429)).toBe(true);
  });
});

describe('the rate-limit plugin and the routes registered after it', () => {
  /** Plugin options with counters of their own, on a frozen clock (no window edge can pass mid-test). */
  const limits = () => ({ service: createRateLimitService({ now: () => 1_800_000_030_000 }), defaultPolicies: [{ limit: 3, windowMs: 60_000, blockDurationMs: 0 }], authPolicies: [], algorithm: 'fixed-window' as const });
  const token = 'm3tr1cs-T0ken-ThatIsLongEnough-9f8e7d6c5b4a';

  it('charges GET /metrics once per request, on a budget of its own', async () => {
    const app = Fastify();
    await app.register(rateLimits, limits());
    await app.register(metrics, { registry: new Registry(), token });
    await app.ready();
    const remaining: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const response = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}` } });
      expect(response.statusCode).toBe(200);
      remaining.push(String(response.headers.ratelimit));
    }
    expect(remaining.map((header) => /^"default:GET \/metrics-60s";r=(\d+);t=\d+$/.exec(header)?.[1])).toEqual(['2', '1', '0']);
    expect((await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(429);
    await app.close();
  });

  it("refuses charge: 'failed_auth' keyed by anything but the client IP when the route is registered", async () => {
    const app = Fastify();
    await app.register(rateLimits, limits());
    expect(() => app.get('/v1/x', { config: { rateLimit: { charge: 'failed_auth', key: 'user' } } }, async () => ({}))).toThrow(/failed_auth/);
    await app.close();
  });
});
