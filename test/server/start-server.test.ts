import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/index.js';
import { ROUTE_MODULES } from '../../src/server/routes/index.js';
import { startServer } from '../../src/server/start-server.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';

const silent = new Writable({ write: (_c, _e, cb) => cb() });

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

  it('refuses to start with a different secret key than the database was initialised with', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-start-'));
    const first = await startServer(settingsFor(dir, { WARDEN_SECRET_KEY: TEST_SECRET_KEY }), { print: () => undefined, handleSignals: false, logStream: silent });
    await first.close();
    await expect(
      startServer(settingsFor(dir, { WARDEN_SECRET_KEY: `${TEST_SECRET_KEY}X` }), { print: () => undefined, handleSignals: false, logStream: silent }),
    ).rejects.toMatchObject({ code: 'config_invalid' });
  });
});
