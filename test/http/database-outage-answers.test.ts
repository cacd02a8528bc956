import { afterEach, expect, it } from 'vitest';
import { DecryptionError } from '../../src/crypto/decryption-error.js';
import type { RouteModule } from '../../src/server/routes/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

/**
 * A request whose database call fails because the database is gone (refused or dropped
 * connection, a server shutting down) meets an outage, not a bug: 503 `storage_unavailable`
 * with Retry-After, as /readyz says, rather than a 500 that clients and alerting take for a bug.
 */
const withCode = (message: string, code?: string): Error => Object.assign(new Error(message), code === undefined ? {} : { code });
const failing: RouteModule = async (app) => {
  app.get('/v1/probe/refused', { config: { public: true } }, async () => {
    throw withCode('connect ECONNREFUSED 10.0.0.5:5432', 'ECONNREFUSED');
  });
  app.get('/v1/probe/terminated', { config: { public: true } }, async () => {
    throw withCode('terminating connection due to administrator command', '57P01');
  });
  app.get('/v1/probe/bug', { config: { public: true } }, async () => {
    throw new TypeError("Cannot read properties of undefined (reading 'id')");
  });
  app.get('/v1/probe/undecryptable', { config: { public: true } }, async () => {
    throw new DecryptionError('unknown_key', 'a stored value is encrypted with key k1 of WARDEN_ENCRYPTION_KEY, which is not set', { status: 500 });
  });
};

let t: TestApp | undefined;
afterEach(async () => t?.close());

it('answers a lost database with 503 storage_unavailable and Retry-After, without the driver\'s message', async () => {
  t = await createTestApp({ routes: [failing] });
  for (const url of ['/v1/probe/refused', '/v1/probe/terminated']) {
    const response = await t.app.inject({ url });
    expect(response.statusCode, url).toBe(503);
    expect(response.json()).toMatchObject({ code: 'storage_unavailable', detail: 'The database is temporarily unreachable; retry later' });
    expect(response.headers['retry-after']).toBe('1');
    expect(response.body).not.toMatch(/ECONNREFUSED|10\.0\.0\.5|administrator/);
  }
  // Logged as an outage (one throttled warn line for both), not as an error with a stack each.
  expect(t.logs.filter((line) => String(line.msg).startsWith('answering 503'))).toHaveLength(1);
  expect(t.logs.filter((line) => line.level === 50)).toEqual([]);
  // A bug is still a 500.
  expect((await t.app.inject({ url: '/v1/probe/bug' })).json()).toMatchObject({ status: 500, code: 'internal_error' });
});

it("answers a 500 of Warden's own (data it cannot decrypt) with its code and the request id, its message only in the log", async () => {
  t = await createTestApp({ routes: [failing] });
  const response = await t.app.inject({ url: '/v1/probe/undecryptable' });
  expect(response.json()).toMatchObject({ status: 500, code: 'decryption_failed', detail: expect.stringMatching(/^An unexpected error occurred; quote request id /) });
  expect(response.body).not.toMatch(/WARDEN_ENCRYPTION_KEY|k1/);
  expect(t.rawLogs()).toContain('WARDEN_ENCRYPTION_KEY');
});
