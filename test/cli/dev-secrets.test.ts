import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runWarden, WARDEN_BIN } from '../helpers/cli.js';
import { scratchDirs } from '../helpers/scratch-dirs.js';

// The CLI uses the secrets `npm start` (`warden serve`) generated in development, as the docs
// promise (docs/configuration.md, Profiles): one data directory, one root secret.

/** A fresh working directory: the defaults put the data directory at ./data in it. */
const checkout = scratchDirs('warden-dev-secrets-');

// Only what a new user has: no WARDEN_SECRET_KEY, the development profile by default.
const ENV = { WARDEN_LOG_LEVEL: 'warn' };

/** Runs `warden serve` in `cwd` until it listens, then stops it; returns what it printed. */
async function serveOnce(cwd: string): Promise<string> {
  const child = spawn(process.execPath, [WARDEN_BIN, 'serve', '--port', '0'], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...ENV },
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (/listening on http/.test(out)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`serve exited early with ${code}: ${out}${err}`)));
  });
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  return out;
}

describe('the CLI in the development profile', () => {
  it('uses the secrets `warden serve` generated: database commands work after `npm start`', async () => {
    const cwd = checkout();
    const banner = await serveOnce(cwd);
    expect(banner).toContain('generated WARDEN_SECRET_KEY into');

    for (const args of [
      ['keys', 'list'],
      ['roles', 'list'],
      ['clients', 'list'],
      ['audit', 'verify'],
      ['migrate', '--status'],
    ]) {
      const result = await runWarden(args, { cwd, env: ENV });
      expect(result.stderr, args.join(' ')).not.toContain('WARDEN_SECRET_KEY');
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
    }
    const created = await runWarden(
      ['users', 'create', '--email', 'dev@example.com', '--generate-password'],
      { cwd, env: ENV },
    );
    expect(created.code, created.stderr).toBe(0);
    // Nothing new was generated: the service's file was used as it is.
    expect(created.stderr).not.toContain('generated');
  });

  it('on a fresh checkout generates them as `npm start` would (0600 file, 0700 directory), and the service then reuses them', async () => {
    const cwd = checkout();
    const first = await runWarden(['roles', 'list'], { cwd, env: ENV });
    expect(first.code, first.stderr).toBe(0);
    const file = path.join(cwd, 'data', 'dev-secrets.json');
    expect(first.stderr).toContain(
      `warden: generated WARDEN_SECRET_KEY into ${file} (mode 0600; development only, value not shown`,
    );
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(cwd, 'data')).mode & 0o777).toBe(0o700);
    const secret =
      (JSON.parse(readFileSync(file, 'utf8')) as { secrets: Record<string, string> }).secrets
        .WARDEN_SECRET_KEY ?? '';
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect(first.stdout + first.stderr).not.toContain(secret);

    // The same root secret: the service starts on the database the CLI initialised, without generating another.
    const banner = await serveOnce(cwd);
    expect(banner).not.toContain('generated WARDEN_SECRET_KEY');
  });

  it('config check shows the generated secret (masked) without ever creating the file', async () => {
    const fresh = checkout();
    const before = await runWarden(['config', 'check'], { cwd: fresh, env: ENV });
    expect(before.code).toBe(0);
    expect(before.stdout).toMatch(/^WARDEN_SECRET_KEY\s+\(unset\)\s+\[default\]$/m);
    expect(existsSync(path.join(fresh, 'data'))).toBe(false);

    const cwd = checkout();
    await runWarden(['roles', 'list'], { cwd, env: ENV });
    const after = await runWarden(['config', 'check'], { cwd, env: ENV });
    expect(after.code).toBe(0);
    expect(after.stdout).toMatch(/^WARDEN_SECRET_KEY\s+\*{8} \(set, 32\+ chars\)\s+\[generated\]$/m);
    // Production never reads dev-secrets.json: for it the key is missing, and the check says so.
    expect(after.stdout).toContain('production check: 1 problem(s)\n  - WARDEN_SECRET_KEY is missing');
  });

  it('never reads them in staging or production: the secret key must be configured there', async () => {
    const cwd = checkout();
    await runWarden(['roles', 'list'], { cwd, env: ENV });
    for (const profile of ['staging', 'production']) {
      const result = await runWarden(['roles', 'list'], { cwd, env: { ...ENV, WARDEN_ENV: profile } });
      expect(result.code, profile).toBe(78);
      expect(result.stderr).toContain('WARDEN_SECRET_KEY is missing');
    }
  });

  it('a damaged dev-secrets.json is a configuration problem naming the file, never its content', async () => {
    const cwd = checkout();
    mkdirSync(path.join(cwd, 'data'), { mode: 0o700 });
    const file = path.join(cwd, 'data', 'dev-secrets.json');
    copyFileSync(WARDEN_BIN, file);
    const result = await runWarden(['roles', 'list'], { cwd, env: ENV });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain(`${file} is not valid JSON; restore it (deleting it makes new development secrets`);
    expect(result.stderr).not.toContain('import(');
  });
});
