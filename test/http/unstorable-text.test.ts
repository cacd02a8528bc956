import { Type } from '@sinclair/typebox';
import { afterEach, expect, it } from 'vitest';
import type { Principal } from '../../src/http/principal.js';
import { ROUTE_MODULES, type RouteModule } from '../../src/server/routes/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';

// A route that hands a JSON string to the database as a query parameter, as any route with a
// free-text field does: a NUL in a body never meets the hardening hook's URL check.
const lookupRoute: RouteModule = async (app, context) => {
  app.post('/v1/probe/lookup', { config: { public: true }, schema: { body: Type.Object({ text: Type.String() }, { additionalProperties: false }) } }, async (request) => {
    const { text } = request.body as { text: string };
    const rows = await context.storage.db.selectFrom('users').select('id').where('email_lookup', '=', text).execute();
    return { found: rows.length };
  });
};

const READER: Principal = { kind: 'client', subject: 'reader', permissions: ['audit:read', 'keys:read', 'users:read'], credentialId: 'test' };

/** Lets a request carrying x-test-reader act as READER. */
function allowReader(testApp: TestApp): void {
  testApp.context.authenticators.unshift(async (request) => (request.headers['x-test-reader'] === '1' ? READER : undefined));
}

function expectValidationProblem(response: { statusCode: number; headers: Record<string, unknown>; body: string }, detail: RegExp): void {
  expect(response.statusCode).toBe(400);
  expect(String(response.headers['content-type'])).toMatch(/^application\/problem\+json/);
  expect(response.headers['x-content-type-options']).toBe('nosniff');
  const body = JSON.parse(response.body) as Record<string, unknown>;
  expect(body).toMatchObject({ status: 400, code: 'validation_failed' });
  expect(String(body.detail)).toMatch(detail);
  // Neither the database's words nor the value come back.
  expect(response.body).not.toMatch(/UTF8|0x00|byte sequence|select|email_lookup|\\u0000/i);
}

describeEachDatabase('NUL and control characters in request text', (dialect) => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it.each(['/v1/audit?actor=%00', '/v1/audit?entity_type=%00', '/v1/audit?action=a%00b&limit=5', '/v1/keys?owner_id=%00', '/v1/keys?owner_id=x%1b'])(
    '%s → 400 validation_failed before any route runs, and the server keeps serving',
    async (url) => {
      t = await createTestApp({ dialect });
      allowReader(t);
      expectValidationProblem(await t.app.inject({ url, headers: { 'x-test-reader': '1' } }), /^The query string contains NUL or control characters$/);
      expect(t.logs.filter((l) => (l.level as number) >= 50)).toEqual([]);
      expect((await t.app.inject({ url: '/v1/audit?actor=alice', headers: { 'x-test-reader': '1' } })).statusCode).toBe(200);
      expect((await t.app.inject({ url: '/v1/keys?owner_id=reader', headers: { 'x-test-reader': '1' } })).statusCode).toBe(200);
      expect((await t.app.inject({ url: '/healthz' })).statusCode).toBe(200);
    },
  );

  it.runIf(dialect === 'postgres')('a NUL the database refuses (SQLSTATE 22021) is the client’s 400, not a 500', async () => {
    t = await createTestApp({ dialect, routes: [...ROUTE_MODULES, lookupRoute] });
    const refused = await t.app.inject({ method: 'POST', url: '/v1/probe/lookup', payload: { text: 'bob\u0000@example.com' } });
    expectValidationProblem(refused, /^The request contains a NUL character or text the database cannot store$/);
    expect(refused.body).not.toContain('bob');
    // Not an unhandled error: nothing at error level, nothing in the recent-error ring.
    expect(t.logs.filter((l) => (l.level as number) >= 50)).toEqual([]);
    expect(t.context.recentErrors.lines()).toEqual([]);
    // The pool's connection is still good.
    const ok = await t.app.inject({ method: 'POST', url: '/v1/probe/lookup', payload: { text: 'bob@example.com' } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ found: 0 });
  });
});
