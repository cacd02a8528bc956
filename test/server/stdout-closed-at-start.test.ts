/*
 * The start-up banner only informs. `warden serve` whose stdout reader has gone before the
 * banner is printed (`warden serve | head -2`, a log collector that died) runs all the same,
 * and stops on SIGTERM like any other instance. A library caller whose `print` throws gets the
 * error from startServer, and the server it had started is closed again: never a listening
 * server that nothing can stop.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/index.js';
import { startServer } from '../../src/server/start-server.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';
import { connectionRefused, eventually, exitsWithin, freePort, spawnService } from '../helpers/spawned-service.js';

const silent = new Writable({ write: (_c, _e, cb) => cb() });

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function scratch(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-stdout-closed-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('warden serve whose stdout reader went away during start-up', () => {
  it('serves, and stops on SIGTERM (exits, stops listening), although the banner could not be written', async () => {
    const dir = scratch();
    const port = await freePort();
    const service = spawnService({
      WARDEN_DATA_DIR: dir,
      WARDEN_DATABASE_URL: `sqlite:${path.join(dir, 'w.db')}`,
      WARDEN_SECRET_KEY: TEST_SECRET_KEY,
      WARDEN_PORT: String(port),
    });
    cleanups.push(() => service.kill());
    // The read end of stdout is closed before the banner is printed.
    service.child.stdout?.destroy();

    const up = await eventually(async () => {
      try {
        return (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200;
      } catch {
        return false;
      }
    }, 25_000);
    expect(up).toBe(true);

    service.child.kill('SIGTERM');
    const stopped = await exitsWithin(service, 15_000);
    expect.soft(await connectionRefused(port)).toBe(true);
    expect(stopped).toBe(true);
  }, 60_000);
});

describe('startServer with a print that throws', () => {
  it('rejects with that error and leaves nothing listening', async () => {
    const dir = scratch();
    const port = await freePort();
    const loaded = loadSettings({
      env: { WARDEN_PORT: String(port), WARDEN_DATA_DIR: dir, WARDEN_DATABASE_URL: `sqlite:${path.join(dir, 'warden.db')}`, WARDEN_SECRET_KEY: TEST_SECRET_KEY },
      cwd: dir,
      envFile: false,
    });
    const unprintable = new Error('the banner cannot be written');
    const started = startServer(loaded, {
      print: () => {
        throw unprintable;
      },
      handleSignals: false,
      logStream: silent,
    });
    // Should it resolve after all, it must not outlive the test.
    cleanups.push(() => started.then((server) => server.close(), () => undefined));
    await expect(started).rejects.toBe(unprintable);
    expect(await connectionRefused(port)).toBe(true);
  }, 30_000);
});
