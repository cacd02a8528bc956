import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { healthRoutes } from '../../src/http/health.js';

describe('GET /readyz under a flood of probes', () => {
  it('runs one round of checks for the probes that arrive while it runs, and a new round after it', async () => {
    let rounds = 0;
    let release: () => void = () => undefined;
    let arrived = 0;
    const app = Fastify();
    // Counts probes that reached the handler's doorstep (the handler runs right after it).
    app.addHook('preHandler', (_request, _reply, done) => {
      arrived += 1;
      done();
    });
    const allArrived = async (count: number): Promise<void> => {
      while (arrived < count) await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
    };
    await app.register(healthRoutes, {
      checks: {
        database: async () => {
          rounds += 1;
          await new Promise<void>((resolve) => (release = resolve));
        },
      },
    });
    const probes = Array.from({ length: 20 }, () => app.inject({ url: '/readyz' }));
    await allArrived(20);
    release();
    const answers = await Promise.all(probes);
    expect(answers.map((a) => a.statusCode)).toEqual(Array(20).fill(200));
    expect(rounds).toBe(1);

    const later = app.inject({ url: '/readyz' });
    await allArrived(21);
    release();
    expect((await later).statusCode).toBe(200);
    expect(rounds).toBe(2);
    await app.close();
  });

  it("answers the shared round's failure to every waiting probe, then recovers on the next round", async () => {
    let healthy = false;
    const app = Fastify();
    await app.register(healthRoutes, {
      checks: {
        database: async () => {
          if (!healthy) throw new Error('connect ECONNREFUSED 10.0.0.5:5432 user warden');
        },
      },
    });
    const answers = await Promise.all([app.inject({ url: '/readyz' }), app.inject({ url: '/readyz' })]);
    for (const answer of answers) {
      expect(answer.statusCode).toBe(503);
      expect(answer.body).not.toContain('10.0.0.5');
    }
    healthy = true;
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(200);
    await app.close();
  });
});
