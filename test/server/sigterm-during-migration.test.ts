// startServer installs its SIGTERM/SIGINT handlers before the start-up migrations: a signal
// that arrives while they run (a rollout, `systemctl stop`, Ctrl-C) must not take Node's
// default action and kill the process mid-migration. It lets them finish, then ends the start
// with exit 0 without listening.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, expect, it, vi } from 'vitest';
import type * as Migrate from '../../src/storage/migrate.js';

type SignalListener = (signal: NodeJS.Signals) => void;

/** What the mocked migration saw of startServer's handlers, and whether it sends a signal. */
const during: { sigterm?: number; sigint?: number; sendSignal?: boolean; baseline: SignalListener[] } = { baseline: [] };

vi.mock('../../src/storage/migrate.js', async (importOriginal) => {
  const original = await importOriginal<typeof Migrate>();
  return {
    ...original,
    migrateDatabase: async (...args: Parameters<typeof original.migrateDatabase>) => {
      during.sigterm = process.listenerCount('SIGTERM');
      during.sigint = process.listenerCount('SIGINT');
      if (during.sendSignal === true) {
        // Only startServer's own handler: the test runner's must not see a SIGTERM.
        for (const listener of process.listeners('SIGTERM') as SignalListener[]) {
          if (!during.baseline.includes(listener)) listener('SIGTERM');
        }
      }
      return original.migrateDatabase(...args);
    },
  };
});

const { loadSettings } = await import('../../src/config/index.js');
const { startServer } = await import('../../src/server/start-server.js');
const { migrationStatus, openDatabase } = await import('../../src/storage/index.js');

const silent = new Writable({ write: (_c, _e, cb) => cb() });
const dirs: string[] = [];
const installed: { event: 'SIGTERM' | 'SIGINT'; listener: SignalListener }[] = [];

afterEach(() => {
  for (const { event, listener } of installed.splice(0)) process.off(event, listener);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  during.sendSignal = false;
});

function settings(): { loaded: ReturnType<typeof loadSettings>; url: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-sigterm-'));
  dirs.push(dir);
  const url = `sqlite:${path.join(dir, 'warden.db')}`;
  const loaded = loadSettings({ env: { WARDEN_PORT: '0', WARDEN_DATA_DIR: dir, WARDEN_DATABASE_URL: url }, cwd: dir, envFile: false });
  return { loaded, url };
}

/** Remembers the listeners startServer adds, so the test can remove whatever it leaves. */
function trackListeners(): () => void {
  const before = { SIGTERM: process.listeners('SIGTERM'), SIGINT: process.listeners('SIGINT') };
  during.baseline = before.SIGTERM as SignalListener[];
  return () => {
    for (const event of ['SIGTERM', 'SIGINT'] as const) {
      for (const listener of process.listeners(event) as SignalListener[]) {
        if (!before[event].includes(listener)) installed.push({ event, listener });
      }
    }
  };
}

it('its SIGTERM and SIGINT handlers are in place while the migrations run', async () => {
  const { loaded } = settings();
  const baseline = { SIGTERM: process.listenerCount('SIGTERM'), SIGINT: process.listenerCount('SIGINT') };
  const collect = trackListeners();
  const server = await startServer(loaded, { print: () => undefined, logStream: silent, exit: () => undefined });
  collect();
  try {
    expect(during.sigterm).toBe(baseline.SIGTERM + 1);
    expect(during.sigint).toBe(baseline.SIGINT + 1);
  } finally {
    await server.close();
  }
});

it('a SIGTERM during the migrations lets them finish, then stops the start with exit 0 without listening', async () => {
  const { loaded, url } = settings();
  const baseline = { SIGTERM: process.listenerCount('SIGTERM'), SIGINT: process.listenerCount('SIGINT') };
  const collect = trackListeners();
  during.sendSignal = true;
  const exit = vi.fn<(code: number) => void>();
  const lines: string[] = [];
  const started = startServer(loaded, { print: (l) => lines.push(l), logStream: silent, exit });
  await expect(started).rejects.toThrow(/stopped by SIGTERM/);
  collect();
  expect(exit).toHaveBeenCalledTimes(1);
  expect(exit).toHaveBeenCalledWith(0);
  expect(lines.join('\n')).toMatch(/^Warden stopped by SIGTERM during start-up \(migrations applied: 0001_core, .*\); not listening$/);
  expect(lines.join('\n')).not.toContain('listening on');
  // The migrations ran to the end (and were committed), nothing else started.
  const storage = openDatabase(url);
  try {
    expect((await migrationStatus(storage)).every((m) => m.executedAt instanceof Date)).toBe(true);
  } finally {
    await storage.close();
  }
  // Its handlers are gone again: a later signal takes the default action.
  expect(process.listenerCount('SIGTERM')).toBe(baseline.SIGTERM);
  expect(process.listenerCount('SIGINT')).toBe(baseline.SIGINT);
});
