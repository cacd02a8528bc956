import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, inject, it, vi } from 'vitest';
import { loadSettings } from '../../src/config/index.js';
import { CHECKPOINT_KEY_PURPOSE } from '../../src/audit/audit-log-domain.js';
import { verifyChain } from '../../src/audit/audit-verify.js';
import { deriveKey } from '../../src/crypto/derive-key.js';
import { ROUTE_MODULES } from '../../src/server/routes/index.js';
import { startServer } from '../../src/server/start-server.js';
import { openDatabase } from '../../src/storage/index.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/databases.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';

const silent = new Writable({ write: (_c, _e, cb) => cb() });

/** The audit checkpoints' sequence numbers and kinds. */
async function checkpoints(url: string): Promise<string[]> {
  const storage = openDatabase(url);
  try {
    return (await storage.db.selectFrom('audit_checkpoints').select(['seq', 'kind']).orderBy('seq').execute()).map((r) => `${r.seq}:${r.kind}`);
  } finally {
    await storage.close();
  }
}

function settingsFor(dir: string, env: Record<string, string> = {}) {
  return loadSettings({
    env: { WARDEN_PORT: '0', WARDEN_DATA_DIR: dir, WARDEN_DATABASE_URL: `sqlite:${path.join(dir, 'warden.db')}`, ...env },
    cwd: dir,
    envFile: false,
  });
}

describe('startServer', () => {
  it('migrates, listens, prints where and what it generated (never the value), and stops cleanly', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-start-'));
    const lines: string[] = [];
    const loaded = settingsFor(dir);
    const server = await startServer(loaded, { print: (l) => lines.push(l), handleSignals: false, logStream: silent });
    try {
      expect(lines[0]).toMatch(/^Warden listening on http:\/\/127\.0\.0\.1:\d+ \(profile development\)$/);
      expect(lines.join('\n')).toContain('generated WARDEN_SECRET_KEY into');
      expect(lines.join('\n')).not.toContain(loaded.settings.secretKey);
      const response = await fetch(`${server.url}/readyz`);
      expect(response.status).toBe(200);
    } finally {
      await server.close();
    }
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  it('a first start that cannot listen does not use up the first admin: the next start prints its password', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-start-'));
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    const lines: string[] = [];
    try {
      await expect(startServer(settingsFor(dir, { WARDEN_PORT: String(port) }), { print: (l) => lines.push(l), handleSignals: false, logStream: silent })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
    expect(lines).toEqual([]);
    const server = await startServer(settingsFor(dir), { print: (l) => lines.push(l), handleSignals: false, logStream: silent });
    try {
      expect(lines.join('\n')).toMatch(/created first admin \S+ with password \S+ .*shown once.*\n.*change it with POST \/v1\/auth\/password/);
    } finally {
      await server.close();
    }
  });

  it('a SIGTERM whose shutdown loses a step (the audit flush, say) ends with exit 1, after closing everything else', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-start-'));
    const logged: string[] = [];
    const logStream = new Writable({
      write: (chunk: Buffer, _e, cb) => (logged.push(chunk.toString()), cb()),
    });
    const exit = vi.fn<(code: number) => void>();
    const before = { SIGTERM: process.listeners('SIGTERM'), SIGINT: process.listeners('SIGINT') };
    const server = await startServer(settingsFor(dir, { WARDEN_SECRET_KEY: TEST_SECRET_KEY }), {
      print: () => undefined,
      logStream,
      exit,
    });
    // Called by hand below; removed so that no real signal ever reaches this test process's server.
    const onSigterm = process.listeners('SIGTERM').find((listener) => !before.SIGTERM.includes(listener));
    const onSigint = process.listeners('SIGINT').find((listener) => !before.SIGINT.includes(listener));
    process.off('SIGTERM', onSigterm as () => void);
    process.off('SIGINT', onSigint as () => void);
    let storageClosed = false;
    server.context.onClose.push(() => Promise.reject(new Error('audit flush lost')));
    const closeStorage = server.context.storage.close.bind(server.context.storage);
    server.context.storage.close = async () => {
      storageClosed = true;
      await closeStorage();
    };
    (onSigterm as (signal: NodeJS.Signals) => void)('SIGTERM');
    await vi.waitFor(() => expect(exit).toHaveBeenCalled());
    expect(exit).toHaveBeenCalledWith(1);
    expect(storageClosed).toBe(true);
    expect(logged.join('')).toContain('shutdown hook failed');
    expect(logged.join('')).toContain('shutdown failed');
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  it('lets an in-flight request finish during graceful shutdown', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-start-'));
    let release: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const server = await startServer(settingsFor(dir, { WARDEN_SECRET_KEY: TEST_SECRET_KEY }), {
      print: () => undefined,
      handleSignals: false,
      logStream: silent,
      routes: [
        ...ROUTE_MODULES,
        async (app) => {
          app.get('/v1/slow', { config: { public: true } }, async () => {
            await slow;
            return { done: true };
          });
        },
      ],
    });
    const inFlight = fetch(`${server.url}/v1/slow`).then(async (r) => ({ status: r.status, body: await r.json() }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closing = server.close();
    setTimeout(release, 100);
    const result = await inFlight;
    await closing;
    expect(result).toEqual({ status: 200, body: { done: true } });
  });

  it.skipIf(!inject('redisAvailable'))('listens only once Redis is connected, so no first request meets a connecting store', async () => {
    // A slow Redis: the proxy accepts at once but relays nothing for 1.5 s, longer than start-up
    // takes, so a server that did not wait would be listening with its client still connecting.
    const target = new URL(TEST_REDIS_URL);
    const sockets: net.Socket[] = [];
    const proxy = net.createServer((client) => {
      sockets.push(client);
      client.pause();
      setTimeout(() => {
        const upstream = net.connect(Number(target.port || 6379), target.hostname);
        sockets.push(upstream);
        client.pipe(upstream).pipe(client);
        client.resume();
      }, 1500);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const port = (proxy.address() as net.AddressInfo).port;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-start-'));
    const prefix = `warden-test:${randomBytes(6).toString('hex')}:`;
    try {
      const server = await startServer(
        settingsFor(dir, { WARDEN_SECRET_KEY: TEST_SECRET_KEY, WARDEN_REDIS_URL: `redis://127.0.0.1:${port}`, WARDEN_REDIS_KEY_PREFIX: prefix }),
        { print: () => undefined, handleSignals: false, logStream: silent },
      );
      try {
        expect(server.context.redis?.status).toBe('ready');
      } finally {
        await server.close();
      }
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('starts without Redis when it cannot connect, says so in the log, and reports not ready', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-start-'));
    const log: string[] = [];
    const logStream = new Writable({ write: (chunk: Buffer, _e, cb) => (log.push(chunk.toString()), cb()) });
    const server = await startServer(settingsFor(dir, { WARDEN_SECRET_KEY: TEST_SECRET_KEY, WARDEN_REDIS_URL: 'redis://127.0.0.1:1' }), {
      print: () => undefined,
      handleSignals: false,
      logStream,
    });
    try {
      expect(log.join('')).toContain('redis not connected at start; listening anyway');
      expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    } finally {
      await server.close();
    }
  });

  it.skipIf(!inject('postgresAvailable'))('masks a password given in the query string of the database URL in its banner', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-start-'));
    const database = await createTestDatabase('postgres');
    try {
      // The test server trusts local connections, so the password is accepted and unused.
      const url = `${database.url}&password=pg-hunter2`;
      const lines: string[] = [];
      const server = await startServer(settingsFor(dir, { WARDEN_SECRET_KEY: TEST_SECRET_KEY, WARDEN_DATABASE_URL: url }), {
        print: (l) => lines.push(l),
        handleSignals: false,
        logStream: silent,
      });
      await server.close();
      expect(lines).toContain(`  database: ${url.replace('password=pg-hunter2', 'password=********')}`);
      expect(lines.join('\n')).not.toContain('pg-hunter2');
    } finally {
      await database.cleanup();
    }
  });

  it('refuses to start with a different secret key than the database was initialised with', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-start-'));
    const first = await startServer(settingsFor(dir, { WARDEN_SECRET_KEY: TEST_SECRET_KEY }), { print: () => undefined, handleSignals: false, logStream: silent });
    await first.close();
    const url = `sqlite:${path.join(dir, 'warden.db')}`;
    const checkpointsBefore = await checkpoints(url);
    await expect(
      startServer(settingsFor(dir, { WARDEN_SECRET_KEY: `${TEST_SECRET_KEY}X` }), { print: () => undefined, handleSignals: false, logStream: silent }),
    ).rejects.toMatchObject({ code: 'config_invalid' });
    // The refusal came before anything could write with the other key: no checkpoint signed with
    // it, so the chain still verifies with the original key.
    expect(await checkpoints(url)).toEqual(checkpointsBefore);
    const storage = openDatabase(url);
    try {
      const report = await verifyChain(storage.db, { checkpointKey: deriveKey(TEST_SECRET_KEY, CHECKPOINT_KEY_PURPOSE) });
      expect(report.valid).toBe(true);
    } finally {
      await storage.close();
    }
  });
});
