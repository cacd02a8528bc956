import { afterEach, describe, expect, it } from 'vitest';
import { WardenError } from '../../src/errors/index.js';
import type { RouteModule } from '../../src/server/routes/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const outage = () => new WardenError('service_unavailable', 'The token denylist is temporarily unavailable; retry later');

/** One route on the app itself and one in an encapsulated plugin scope (as a library user registers theirs), both failing as an outage does. */
const failingRoutes: RouteModule = async (app) => {
  app.get('/v1/root-scope', { config: { public: true } }, async () => {
    throw outage();
  });
  await app.register(async (scope) => {
    scope.get('/v1/plugin-scope', { config: { public: true } }, async () => {
      throw outage();
    });
  });
};

describe('503 service_unavailable during an outage', () => {
  it('answers every request, and logs one line for the whole app whichever plugin scope the routes live in', async () => {
    t = await createTestApp({ routes: [failingRoutes] });
    for (const url of ['/v1/root-scope', '/v1/plugin-scope', '/v1/plugin-scope', '/v1/root-scope']) {
      const response = await t.app.inject({ url });
      expect(response.statusCode, url).toBe(503);
      expect(response.json()).toMatchObject({ code: 'service_unavailable' });
    }
    const lines = t.logs.filter((line) => String(line.msg).startsWith('answering 503'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ code: 'service_unavailable', detail: 'The token denylist is temporarily unavailable; retry later' });
    expect(t.logs.filter((line) => line.msg === 'request failed')).toEqual([]);
  });
});
