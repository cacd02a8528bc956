import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CliIo } from '../../src/cli/cli-io.js';
import { runCli } from '../../src/cli/main.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';

const dirs: string[] = [];
afterEach(() => {
  vi.unstubAllEnvs();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('warden config check', () => {
  it('masks passwords given in the query string of the database and Redis URLs', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-config-check-'));
    dirs.push(dir);
    vi.stubEnv('WARDEN_DATA_DIR', dir);
    vi.stubEnv('WARDEN_DOTENV_FILE', path.join(dir, 'no.env'));
    vi.stubEnv('WARDEN_SECRET_KEY', TEST_SECRET_KEY);
    vi.stubEnv('WARDEN_DATABASE_URL', 'postgres://warden@db.internal/warden?sslmode=require&password=db-hunter2');
    vi.stubEnv('WARDEN_REDIS_URL', 'redis://cache.internal:6379/0?password=redis-hunter2');
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), readStdin: async () => Buffer.alloc(0) };

    const code = await runCli(['node', 'warden', 'config', 'check'], io);

    expect(err).toEqual([]);
    expect(code).toBe(0);
    const text = out.join('\n');
    expect(text).toMatch(/^WARDEN_DATABASE_URL\s+postgres:\/\/warden@db\.internal\/warden\?sslmode=require&password=\*{8}\s+\[env\]$/m);
    expect(text).toMatch(/^WARDEN_REDIS_URL\s+redis:\/\/cache\.internal:6379\/0\?password=\*{8}\s+\[env\]$/m);
    expect(text).not.toContain('hunter2');
  });

  it('prints the production warning of a remote PostgreSQL connection that does not verify the server, without failing', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-config-check-'));
    dirs.push(dir);
    vi.stubEnv('WARDEN_DATA_DIR', dir);
    vi.stubEnv('WARDEN_DOTENV_FILE', path.join(dir, 'no.env'));
    vi.stubEnv('WARDEN_SECRET_KEY', TEST_SECRET_KEY);
    vi.stubEnv('PGSSLMODE', '');
    const out: string[] = [];
    const io: CliIo = { out: (l) => out.push(l), err: () => undefined, readStdin: async () => Buffer.alloc(0) };

    vi.stubEnv('WARDEN_DATABASE_URL', 'postgres://warden@db.internal/warden?sslmode=require');
    expect(await runCli(['node', 'warden', 'config', 'check'], io)).toBe(0);
    expect(out.filter((l) => l.startsWith('production warning: '))).toEqual([
      expect.stringContaining("the connection to db.internal is encrypted but the server's certificate is not verified"),
    ]);

    out.length = 0;
    vi.stubEnv('WARDEN_DATABASE_URL', 'postgres://warden@db.internal/warden?sslmode=verify-full');
    expect(await runCli(['node', 'warden', 'config', 'check'], io)).toBe(0);
    expect(out.filter((l) => l.startsWith('production warning: '))).toEqual([]);
  });
});
