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

/** A data directory of its own, no .env file and a strong secret key; stdout lines land in `out`. */
function scratchConfig(): { out: string[]; io: CliIo } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-config-check-'));
  dirs.push(dir);
  vi.stubEnv('WARDEN_DATA_DIR', dir);
  vi.stubEnv('WARDEN_DOTENV_FILE', '/dev/null');
  vi.stubEnv('WARDEN_SECRET_KEY', TEST_SECRET_KEY);
  const out: string[] = [];
  return { out, io: { out: (l) => out.push(l), err: () => undefined, readStdin: async () => Buffer.alloc(0) } };
}

describe('warden config check', () => {
  it('masks passwords given in the query string of the database and Redis URLs', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-config-check-'));
    dirs.push(dir);
    vi.stubEnv('WARDEN_DATA_DIR', dir);
    vi.stubEnv('WARDEN_DOTENV_FILE', '/dev/null');
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
    const { out, io } = scratchConfig();
    vi.stubEnv('PGSSLMODE', '');
    vi.stubEnv('WARDEN_JWT_ISSUER', 'https://auth.example.com');

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

  it('warns, without failing, when the JWT issuer is not a URL (the OAuth metadata and the tokens would disagree)', async () => {
    const { out, io } = scratchConfig();

    expect(await runCli(['node', 'warden', 'config', 'check'], io)).toBe(0);
    expect(out).toContainEqual(expect.stringMatching(/^production warning: WARDEN_JWT_ISSUER is not a URL: .*set it to the public base URL/));

    out.length = 0;
    vi.stubEnv('WARDEN_JWT_ISSUER', 'https://auth.example.com');
    expect(await runCli(['node', 'warden', 'config', 'check'], io)).toBe(0);
    expect(out.filter((l) => l.includes('WARDEN_JWT_ISSUER is not a URL'))).toEqual([]);
  });

  // README: config check "lists every problem that production would refuse", also in development.
  it('in development, judges the production check as production would load the settings: a generated secret key is missing there', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-config-check-'));
    dirs.push(dir);
    vi.stubEnv('WARDEN_ENV', 'development');
    vi.stubEnv('WARDEN_DATA_DIR', dir);
    vi.stubEnv('WARDEN_DATABASE_URL', `sqlite:${path.join(dir, 'warden.db')}`);
    vi.stubEnv('WARDEN_DOTENV_FILE', '/dev/null');
    vi.stubEnv('WARDEN_SECRET_KEY', '');
    vi.stubEnv('WARDEN_SECRETS_PROVIDER', 'env');
    vi.stubEnv('WARDEN_LOG_LEVEL', 'silent');
    // A CLI command generates dev-secrets.json, as `npm start` would.
    expect(await runCli(['node', 'warden', 'roles', 'list'], { out: () => undefined, err: () => undefined, readStdin: async () => Buffer.alloc(0) })).toBe(0);

    const lines: string[] = [];
    const capture: CliIo = { out: (l) => lines.push(l), err: () => undefined, readStdin: async () => Buffer.alloc(0) };
    expect(await runCli(['node', 'warden', 'config', 'check'], capture)).toBe(0);
    expect(lines.join('\n')).toMatch(/^WARDEN_SECRET_KEY\s+\*{8} \(set, 32\+ chars\)\s+\[generated\]$/m);
    expect(lines.filter((l) => l.startsWith('production check') || l.startsWith('  - '))).toEqual([
      'production check: judged as WARDEN_ENV=production would load the same variables and files (it never reads the generated dev-secrets.json)',
      'production check: 1 problem(s)',
      '  - WARDEN_SECRET_KEY is missing: set it (or WARDEN_SECRET_KEY_FILE) to at least 32 random bytes, e.g. `openssl rand -base64 48`',
    ]);

    // A default that depends on the profile is production's: fail-open without the memory
    // fallback is refused there, although development allows the fallback by default.
    lines.length = 0;
    vi.stubEnv('WARDEN_SECRET_KEY', TEST_SECRET_KEY);
    vi.stubEnv('WARDEN_RATELIMIT_FAILURE_POLICY', 'fail-open');
    expect(await runCli(['node', 'warden', 'config', 'check'], capture)).toBe(0);
    expect(lines.filter((l) => l.startsWith('  - '))).toEqual([expect.stringMatching(/^ {2}- WARDEN_RATELIMIT_FAILURE_POLICY=fail-open falls back/)]);

    lines.length = 0;
    vi.stubEnv('WARDEN_RATELIMIT_FAILURE_POLICY', '');
    expect(await runCli(['node', 'warden', 'config', 'check'], capture)).toBe(0);
    expect(lines).toContain('production check: no problems');
  });
});
