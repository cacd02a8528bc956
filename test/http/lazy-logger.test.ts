import { Writable } from 'node:stream';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { lazyLogger } from '../../src/http/lazy-logger.js';
import { loggerOptions } from '../../src/http/logger-options.js';

/** A root logger with the service's options, writing JSON lines into `lines`. */
function captureLogger(level: string): { root: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { root: pino(loggerOptions(level), stream), lines };
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function appWith(root: Logger): FastifyInstance {
  app = Fastify({ loggerInstance: lazyLogger(root), logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }), genReqId: () => 'req-fixed-0001' });
  app.get('/quiet', async () => ({ ok: true }));
  app.get('/chatty', async (request) => {
    request.log.info({ step: 'handler' }, 'handling');
    request.log.debug('below the level');
    return { ok: true };
  });
  app.get('/failing-log', async (request) => {
    request.log.error({ err: new TypeError('bad input') }, 'handler saw an error');
    return { ok: true };
  });
  app.get('/verbose', { logLevel: 'debug' }, async (request) => {
    request.log.debug('debug on this route');
    return { ok: true };
  });
  app.get('/hushed', { logLevel: 'error' }, async (request) => {
    request.log.warn('not at this route level');
    return { ok: true };
  });
  return app;
}

describe('lazy request loggers', () => {
  it('creates no pino child for a request that logs nothing', async () => {
    const { root } = captureLogger('info');
    const server = appWith(root);
    await server.ready();
    const child = vi.spyOn(root, 'child');
    for (let i = 0; i < 5; i++) expect((await server.inject({ url: '/quiet' })).statusCode).toBe(200);
    expect(child).not.toHaveBeenCalled();
  });

  it('writes a message at an enabled level with the request id bound, and drops one below it', async () => {
    const { root, lines } = captureLogger('info');
    await appWith(root).inject({ url: '/chatty' });
    const written = lines.filter((line) => line.msg === 'handling');
    expect(written).toEqual([expect.objectContaining({ request_id: 'req-fixed-0001', step: 'handler', service: 'warden', level: 30 })]);
    expect(lines.some((line) => line.msg === 'below the level')).toBe(false);
  });

  it("keeps the service's error serializer instead of Fastify's", async () => {
    const { root, lines } = captureLogger('info');
    await appWith(root).inject({ url: '/failing-log' });
    const line = lines.find((l) => l.msg === 'handler saw an error');
    // Fastify's pino serializer would have rewritten the redacted error's type to "Object".
    expect(line?.err).toEqual(expect.objectContaining({ type: 'TypeError', message: 'bad input' }));
  });

  it("honours a route's own log level, above or below the service's", async () => {
    const { root, lines } = captureLogger('info');
    const server = appWith(root);
    await server.inject({ url: '/verbose' });
    await server.inject({ url: '/hushed' });
    expect(lines.map((line) => line.msg)).toContain('debug on this route');
    expect(lines.map((line) => line.msg)).not.toContain('not at this route level');
  });

  it('answers isLevelEnabled and level from the service logger before any child exists', () => {
    const { root } = captureLogger('warn');
    const logger = lazyLogger(root).child({ request_id: 'x' });
    expect(logger.level).toBe('warn');
    expect((logger as unknown as Logger).isLevelEnabled('info')).toBe(false);
    expect((logger as unknown as Logger).isLevelEnabled('error')).toBe(true);
  });
});
