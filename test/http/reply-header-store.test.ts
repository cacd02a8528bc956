import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CorsPolicy } from '../../src/http/cors.js';
import { hardening } from '../../src/http/hardening.js';
import { HttpMetrics } from '../../src/http/http-metrics.js';
import { replyHeaderStore, setLowerCaseHeaders } from '../../src/http/reply-header-store.js';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe("a reply's header store", () => {
  it("is found on this Fastify's replies (if this fails, Fastify moved it: the slower reply.headers() path is in use)", async () => {
    app = Fastify();
    let found: unknown;
    app.get('/', async (_request, reply) => {
      found = replyHeaderStore(reply);
      return { ok: true };
    });
    await app.inject({ url: '/' });
    expect(found).toEqual(expect.any(Object));
  });

  it('sets a table in one step, alongside what Fastify and later code add', async () => {
    app = Fastify();
    app.addHook('onRequest', (_request, reply, done) => {
      setLowerCaseHeaders(reply, { 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer' });
      done();
    });
    app.get('/', async (_request, reply) => {
      reply.header('Referrer-Policy', 'same-origin');
      return { ok: true };
    });
    const response = await app.inject({ url: '/' });
    expect(response.headers).toMatchObject({
      'x-frame-options': 'DENY',
      'referrer-policy': 'same-origin',
      'content-type': 'application/json; charset=utf-8',
    });
  });

  it('falls back to reply.headers() on a reply without the store', () => {
    const headers = vi.fn();
    const reply = { headers } as unknown as FastifyReply;
    expect(replyHeaderStore(reply)).toBeUndefined();
    setLowerCaseHeaders(reply, { vary: 'Origin' });
    expect(headers).toHaveBeenCalledWith({ vary: 'Origin' });
  });

  it('refuses, at start-up, a hardening header table with a name the one-step path would store wrongly', async () => {
    app = Fastify();
    const cors: CorsPolicy = { staticHeaders: { Vary: 'Origin' }, apply: () => 'continue' };
    const options = { trustedHosts: [], httpsRedirect: false, contentSecurityPolicy: "default-src 'self'", hstsMaxAge: 0, metrics: new HttpMetrics(), cors };
    const server = app;
    await expect((async () => {
      await server.register(hardening, options);
      await server.ready();
    })()).rejects.toThrow(/Vary must be lower-case/);
  });
});
