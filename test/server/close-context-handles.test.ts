/*
 * closeContext releases everything createContext opened: once it has resolved, nothing of
 * Warden's keeps the application's event loop alive, also when Redis (the main connection and
 * the invalidation bus's subscriber) was still connecting when the application closed it.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { describeWithRedis, TEST_REDIS_URL } from '../helpers/redis.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/*
 * An application (a script, a job, a test's teardown) that creates a context with Redis and
 * closes it before Redis has finished connecting (connected, ready check still in flight). Runs in its own Node process against the
 * built package (imported by name, as an app does), and reports what still keeps that
 * process's event loop alive a moment after closeContext resolved.
 */
const script = (redisUrl: string, prefix: string, databaseUrl: string) => `
  import { closeContext, createContext, loadSettings } from 'warden';
  import { migrateToLatest, openDatabase } from 'warden/storage';
  // Migrated beforehand (README: createContext does not migrate), so closing has nothing to fail on.
  const storage = openDatabase(${JSON.stringify(databaseUrl)});
  await migrateToLatest(storage);
  await storage.close();
  const env = {
    WARDEN_SECRET_KEY: ${JSON.stringify(randomBytes(48).toString('base64'))},
    WARDEN_LOG_LEVEL: 'silent',
    WARDEN_DATABASE_URL: ${JSON.stringify(databaseUrl)},
    WARDEN_REDIS_URL: ${JSON.stringify(redisUrl)},
    WARDEN_REDIS_KEY_PREFIX: ${JSON.stringify(prefix)},
  };
  const context = createContext(loadSettings({ generateDevSecrets: false, envFile: false, env }).settings);
  // TCP connected, ioredis' ready check (INFO) still in flight: an app closing right after start.
  await new Promise((resolve) => context.redis.once('connect', resolve));
  const statusAtClose = context.redis.status;
  const clean = await closeContext(context);
  // Not a timing check: look at the loop's remaining resources once closing has settled.
  setTimeout(() => {
    const left = process.getActiveResourcesInfo().filter((r) => r !== 'PipeWrap' && r !== 'TTYWrap' && r !== 'FSReqPromise' && r !== 'FSReqCallback');
    left.splice(left.indexOf('Timeout'), 1); // this very timer, still listed while its callback runs
    console.log(JSON.stringify({ statusAtClose, clean, left }));
  }, 300);
`;

describeWithRedis('closeContext with Redis (library use)', () => {
  it('leaves nothing keeping the process alive when Redis was still connecting at close', () => {
    const prefix = `warden-close-handles:${randomBytes(4).toString('hex')}:`;
    const dir = mkdtempSync(join(tmpdir(), 'warden-close-handles-'));
    let out: string;
    try {
      const databaseUrl = `sqlite:${join(dir, 'warden.db')}`;
      out = execFileSync(process.execPath, ['--input-type=module', '-e', script(TEST_REDIS_URL, prefix, databaseUrl)], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const report = JSON.parse(out.trim().split('\n').pop()!) as { statusAtClose: string; clean: boolean; left: string[] };
    expect(report.clean).toBe(true);
    expect(report.statusAtClose).toBe('connect');
    // Closed in the connect phase, ioredis' failed ready check would disconnect a second time and
    // arm its 2 s "stream still open" timer: closeContext waits for the handshake instead.
    expect(report.left).toEqual([]);
  });
});
