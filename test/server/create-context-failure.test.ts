import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/index.js';
import { createContext } from '../../src/server/create-context.js';
import { describeWithRedis, TEST_REDIS_URL } from '../helpers/redis.js';

/** Sockets this process holds open (connected or connecting). */
const sockets = (): number =>
  process.getActiveResourcesInfo().filter((name) => name.startsWith('TCP')).length;

describeWithRedis('createContext refused (README: it throws without a secret key)', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  // An application that catches the error to report it and exit must be able to exit: the
  // failed call leaves no Redis connection reconnecting for ever, no database handle open.
  it('leaves no Redis connection open behind the throw', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'warden-create-context-failure-'));
    const { settings } = loadSettings({
      env: {
        WARDEN_ENV: 'development',
        WARDEN_DATABASE_URL: `sqlite:${path.join(dir, 'warden.db')}`,
        WARDEN_REDIS_URL: TEST_REDIS_URL,
        WARDEN_REDIS_KEY_PREFIX: 'warden-create-context-failure:',
      },
      envFile: false,
      cwd: dir,
      generateDevSecrets: false,
    });
    expect(settings.secretKey).toBeUndefined();
    const before = sockets();
    expect(() => createContext(settings)).toThrow(/^no secret key: set WARDEN_SECRET_KEY /);
    // ioredis connects on a later tick: let it start (a leak shows as a socket that stays).
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Give a closed socket its turn to be released; an open one stays however long we wait.
    for (let i = 0; i < 30 && sockets() > before; i += 1)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(sockets(), 'sockets opened by the failed createContext are still open').toBe(before);
  });
});
