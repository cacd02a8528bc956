import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/index.js';
import { lazyLogger } from '../../src/http/lazy-logger.js';
import { loggerOptions } from '../../src/http/logger-options.js';
import { listenAndLogAddress } from '../../src/server/listen.js';
import { startServer } from '../../src/server/start-server.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';

/** A pino logger with the service's options (redaction included), and the lines it wrote. */
function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { logger: pino(loggerOptions('info'), stream), lines };
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('where the service listens is logged with the real address', () => {
  it('startServer logs listen_url in clear, and no masked "Server listening at" text', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-listen-'));
    let raw = '';
    const logStream = new Writable({ write: (chunk: Buffer, _e, cb) => ((raw += chunk.toString()), cb()) });
    const loaded = loadSettings({
      env: { WARDEN_PORT: '0', WARDEN_DATA_DIR: dir, WARDEN_DATABASE_URL: `sqlite:${path.join(dir, 'warden.db')}`, WARDEN_SECRET_KEY: TEST_SECRET_KEY },
      cwd: dir,
      envFile: false,
    });
    const server = await startServer(loaded, { print: () => undefined, handleSignals: false, logStream });
    try {
      const lines = raw.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
      const listening = lines.filter((l) => l.msg === 'server listening');
      expect(listening).toEqual([expect.objectContaining({ level: 30, listen_url: server.url })]);
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(raw).not.toContain('Server listening at');
      expect(raw).not.toContain('REDACTED:ipv4');
    } finally {
      await server.close();
    }
  });

  const loggers: [name: string, wrap: (logger: pino.Logger) => FastifyBaseLogger][] = [
    ['a pino logger (level methods on the instance)', (logger) => logger],
    ['the lazy logger buildApp uses (methods on the prototype)', (logger) => lazyLogger(logger)],
  ];
  for (const [name, wrap] of loggers) {
    it(`logs one structured line per address and leaves app.log as it was, with ${name}`, async () => {
      const { logger, lines } = capturedLogger();
      const instance = Fastify({ loggerInstance: wrap(logger) });
      app = instance;
      const ownInfoBefore = Object.hasOwn(instance.log, 'info');
      const infoBefore = instance.log.info;
      const addresses = await listenAndLogAddress(instance, { host: '127.0.0.1', port: 0 });
      const port = (instance.server.address() as { port: number }).port;
      expect(addresses).toEqual([`http://127.0.0.1:${port}`]);
      expect(lines.map((l) => [l.msg, l.listen_url])).toEqual([['server listening', `http://127.0.0.1:${port}`]]);
      expect(Object.hasOwn(instance.log, 'info')).toBe(ownInfoBefore);
      expect(instance.log.info).toBe(infoBefore);
      // Other info lines pass as before, redacted as before.
      instance.log.info('Server listening at http://10.9.8.7:1');
      expect(lines.at(-1)?.msg).toBe('Server listening at http://[REDACTED:ipv4]:1');
    });
  }

  it('keeps client addresses redacted everywhere but the request line\'s ip: only listen_url is exempt', () => {
    const { logger, lines } = capturedLogger();
    logger.info({ listen_url: 'http://10.1.2.3:8080', peer: '203.0.113.9', nested: { listen: 'http://10.1.2.3:8080' } }, 'call from 203.0.113.9');
    expect(lines[0]).toMatchObject({
      listen_url: 'http://10.1.2.3:8080',
      peer: '[REDACTED:ipv4]',
      nested: { listen: 'http://[REDACTED:ipv4]:8080' },
      msg: 'call from [REDACTED:ipv4]',
    });
  });
});
