import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { healthRoutes } from '../../src/http/health.js';
import type { RouteModule } from '../../src/server/routes/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

// A driver's message names the address it could not reach: it is the log's business, not the client's.
const OUTAGE = 'connect ECONNREFUSED 10.0.0.5:5432';

let databaseDown = false;
const routes: RouteModule[] = [
  async (app) =>
    app.register(healthRoutes, {
      checks: {
        database: async () => {
          if (databaseDown) throw new Error(OUTAGE);
        },
      },
    }),
];

let t: TestApp;
beforeEach(async () => {
  databaseDown = false;
  t = await createTestApp({ routes });
});
afterEach(async () => t.close());

/** The log lines about readiness (every request also gets its one "request" line). */
const readinessLines = (): Record<string, unknown>[] => t.logs.filter((line) => line.msg !== 'request');
const probe = () => t.app.inject({ url: '/readyz' });

describe('readiness changes are logged once each, not per probe', () => {
  it('two failing probes → one warn line with the reason and no stack trace; each answer stays generic', async () => {
    expect((await probe()).statusCode).toBe(200);
    databaseDown = true;
    for (let i = 0; i < 2; i += 1) {
      const response = await probe();
      expect(response.statusCode).toBe(503);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.json()).toMatchObject({ code: 'service_unavailable', detail: 'Not ready: database unreachable', checks: ['database:unavailable'] });
      expect(response.body).not.toContain('ECONNREFUSED');
    }
    expect(readinessLines()).toEqual([
      expect.objectContaining({ level: 40, msg: 'not ready: database unavailable', checks: { database: 'connect ECONNREFUSED [REDACTED:ipv4]:5432' } }),
    ]);
    expect(t.rawLogs()).not.toMatch(/stack|"level":50/);
  });

  it('recovery → one info line; the next outage is logged again', async () => {
    databaseDown = true;
    await probe();
    databaseDown = false;
    expect((await probe()).statusCode).toBe(200);
    expect((await probe()).statusCode).toBe(200);
    databaseDown = true;
    await probe();
    await probe();
    expect(readinessLines().map((line) => [line.level, line.msg])).toEqual([
      [40, 'not ready: database unavailable'],
      [30, 'ready again'],
      [40, 'not ready: database unavailable'],
    ]);
  });

  it('the first failure after start is logged (the service counts as ready until a probe says otherwise)', async () => {
    databaseDown = true;
    expect((await probe()).statusCode).toBe(503);
    expect(readinessLines().map((line) => [line.level, line.msg])).toEqual([[40, 'not ready: database unavailable']]);
  });
});
