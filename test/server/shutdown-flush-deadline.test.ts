/*
 * Shutdown's flush has one overall deadline, WARDEN_SHUTDOWN_FLUSH_TIMEOUT_MS (default 5 s):
 * closeContext runs the domains' hooks (flushing buffered audit and usage rows) and closes Redis
 * and the database within it. A hook still running at the deadline — a database gone silent
 * holds a flush until the client's query timeout — no longer holds the shutdown: closeContext
 * returns false (unclean), the log says what was not flushed, and the service's close rejects,
 * which `warden serve` reports as exit 1.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/index.js';
import { closeContext, createContext } from '../../src/server/create-context.js';
import { startServer } from '../../src/server/start-server.js';
import { migrateToLatest, openDatabase } from '../../src/storage/index.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function settingsFor(env: Record<string, string> = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-flush-deadline-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return loadSettings({
    env: { WARDEN_PORT: '0', WARDEN_DATA_DIR: dir, WARDEN_DATABASE_URL: `sqlite:${path.join(dir, 'warden.db')}`, WARDEN_SECRET_KEY: TEST_SECRET_KEY, ...env },
    cwd: dir,
    envFile: false,
  });
}

/** A log stream that keeps every line's message. */
function capturedLog(): { stream: Writable; messages: () => string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString().split('\n').filter((l) => l !== ''));
      callback();
    },
  });
  return { stream, messages: () => lines.map((l) => (JSON.parse(l) as { msg: string }).msg) };
}

/** A shutdown hook that never settles, as a flush stuck on a database that stopped answering. */
const neverSettles = (): Promise<void> => new Promise<void>(() => undefined);

describe('WARDEN_SHUTDOWN_FLUSH_TIMEOUT_MS', () => {
  it('defaults to 5000 ms and takes a whole number of ms', () => {
    expect(settingsFor().settings.shutdownFlushTimeoutMs).toBe(5000);
    expect(settingsFor({ WARDEN_SHUTDOWN_FLUSH_TIMEOUT_MS: '1500' }).settings.shutdownFlushTimeoutMs).toBe(1500);
  });
});

describe('closeContext under its deadline', () => {
  it('returns unclean, logging what was not flushed, when a hook never settles; the hooks queued behind it are not started', async () => {
    const { settings } = settingsFor({ WARDEN_SHUTDOWN_FLUSH_TIMEOUT_MS: '200' });
    const log = capturedLog();
    const context = createContext(settings, { logStream: log.stream });
    let queuedBehindRan = false;
    // Hooks run newest first: this one would run after the stuck one.
    context.onClose.push(() => {
      queuedBehindRan = true;
    });
    context.onClose.push(neverSettles);

    expect(await closeContext(context)).toBe(false);
    expect(log.messages().some((m) => m.startsWith('shutdown flush timed out'))).toBe(true);
    expect(queuedBehindRan).toBe(false);
  });

  it('takes the deadline from its options too', async () => {
    const { settings } = settingsFor();
    const context = createContext(settings, { logStream: capturedLog().stream });
    context.onClose.push(neverSettles);
    expect(await closeContext(context, { flushTimeoutMs: 100 })).toBe(false);
  });

  it('still returns clean when every hook finishes in time', async () => {
    const { settings } = settingsFor();
    // Migrated, as createContext expects: the audit log's own flush then has its table.
    const storage = openDatabase(settings.databaseUrl);
    await migrateToLatest(storage);
    await storage.close();
    const context = createContext(settings, { logStream: capturedLog().stream });
    let flushed = false;
    context.onClose.push(async () => {
      flushed = true;
    });
    expect(await closeContext(context)).toBe(true);
    expect(flushed).toBe(true);
  });

  it("makes the service's close reject (exit 1 after a signal) when its flush does not finish", async () => {
    const log = capturedLog();
    const server = await startServer(settingsFor({ WARDEN_SHUTDOWN_FLUSH_TIMEOUT_MS: '200' }), { print: () => undefined, handleSignals: false, logStream: log.stream });
    server.context.onClose.push(neverSettles);
    await expect(server.close()).rejects.toMatchObject({ code: 'service_unavailable' });
    expect(log.messages().some((m) => m.startsWith('shutdown flush timed out'))).toBe(true);
  });
});
