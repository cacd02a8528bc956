import { afterEach, describe, expect, it } from 'vitest';
import type { ApiKeys } from '../../src/apikeys/api-keys-domain.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { insertTestUser } from '../helpers/users.js';

// A key over its own rate limit is answered as every rate_limited 429: Retry-After, the body's
// `retry_after_s`, and its budget in RateLimit-Policy / RateLimit next to the per-IP ones, so
// no advertised policy shows quota left for a refused request.
let t: TestApp;
afterEach(async () => {
  await t.close();
});

async function keyWithOwnLimit(permissions: string[]): Promise<string> {
  const ownerId = await insertTestUser(t.context.storage.db, { isAdmin: true });
  const service = (t.context.apiKeys as ApiKeys).service;
  return (
    await service.create(
      { name: 'limited', ownerId, permissions, rateLimit: { limit: 1, windowMs: 60_000 } },
      { actor: 'system' },
    )
  ).key;
}

describe("a 429 for an API key's own rate limit", () => {
  it('POST /v1/ratelimit: carries RateLimit-Policy, RateLimit and retry_after_s like every other rate_limited answer', async () => {
    t = await createTestApp({});
    const key = await keyWithOwnLimit(['ratelimit:check']);
    const check = () =>
      t.app.inject({
        method: 'POST',
        url: '/v1/ratelimit',
        headers: { 'x-api-key': key },
        payload: { identifier: 'x', limit: 100, window_ms: 60_000 },
      });
    expect((await check()).statusCode).toBe(200);
    const denied = await check();
    expect(denied.statusCode).toBe(429);
    expect(denied.json()).toMatchObject({ code: 'rate_limited' });
    expect(Number(denied.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Missing today: the body field every other rate_limited answer has, and the IETF fields.
    expect(denied.json().retry_after_s).toBe(Number(denied.headers['retry-after']));
    expect(denied.headers['ratelimit-policy']).toMatch(/;q=1;w=60/);
    expect(denied.headers.ratelimit).toMatch(/;r=0;t=\d+/);
  });

  it('GET /v1/keys: the 429 does not only advertise the per-IP budget with quota left', async () => {
    t = await createTestApp({});
    const key = await keyWithOwnLimit(['keys:read']);
    const list = () => t.app.inject({ url: '/v1/keys', headers: { 'x-api-key': key } });
    expect((await list()).statusCode).toBe(200);
    const denied = await list();
    expect(denied.statusCode).toBe(429);
    // Today: RateLimit-Policy: "default-60s";q=300;w=60 and RateLimit: "default-60s";r=298;t=..
    // only, i.e. every advertised policy has quota left although the request was refused.
    const items = String(denied.headers.ratelimit ?? '').split(', ');
    expect(items.some((item) => /;r=0;/.test(item))).toBe(true);
    expect(String(denied.headers['ratelimit-policy'] ?? '').split(', ')).toHaveLength(2);
  });
});
