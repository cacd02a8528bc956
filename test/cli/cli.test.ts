import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TEST_SECRET_KEY } from '../helpers/app.js';
import { runWarden } from '../helpers/cli.js';
import { startVaultStandIn } from '../secrets/vault-stand-in.js';

const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), 'warden-cli-'));

describe('warden CLI', () => {
  it('prints help for the program and for each command, exit 0', async () => {
    const top = await runWarden(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('serve');
    expect(top.stdout).toContain('migrate');
    for (const command of [['serve'], ['migrate'], ['config', 'check']]) {
      const help = await runWarden([...command, '--help']);
      expect(help.code, command.join(' ')).toBe(0);
      expect(help.stdout).toContain('Usage: warden');
    }
  });

  it('exits 2 on an unknown command or option', async () => {
    expect((await runWarden(['frobnicate'])).code).toBe(2);
    expect((await runWarden(['migrate', '--no-such-flag'])).code).toBe(2);
  });

  it('config check prints effective settings with secrets masked', async () => {
    const cwd = tmp();
    const result = await runWarden(['config', 'check'], {
      cwd,
      env: { WARDEN_SECRET_KEY: TEST_SECRET_KEY, WARDEN_DATABASE_URL: 'postgres://app:db-password-123@db.internal:5432/warden' },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/WARDEN_SECRET_KEY\s+\*{8} \(set, 32\+ chars\)\s+\[env\]/);
    expect(result.stdout).toContain('postgres://app:********@db.internal:5432/warden');
    expect(result.stdout).not.toContain(TEST_SECRET_KEY);
    expect(result.stdout).not.toContain('db-password-123');
    expect(result.stdout).toContain('production check: no problems');
  });

  it('refuses an unsafe production configuration: serve exits 78 with one line per problem', async () => {
    const cwd = tmp();
    const env = { WARDEN_ENV: 'production', WARDEN_SECRET_KEY: 'changeme', WARDEN_CORS_ORIGINS: '*', WARDEN_LOG_LEVEL: 'debug' };
    const result = await runWarden(['serve'], { cwd, env });
    expect(result.code).toBe(78);
    expect(result.stderr).toBe(
      [
        'warden: the configuration is not usable:',
        '  - WARDEN_SECRET_KEY is a known default or example value: generate a random one with `openssl rand -base64 48`',
        '  - WARDEN_CORS_ORIGINS allows every origin (*): list the exact origins instead',
        '  - WARDEN_LOG_LEVEL is debug: use info or higher in production',
        '',
      ].join('\n'),
    );
  });

  it('config check in production prints the settings (secrets masked) and every problem serve would refuse, exit 1', async () => {
    const cwd = tmp();
    const env = { WARDEN_ENV: 'production', WARDEN_SECRET_KEY: 'changeme', WARDEN_CORS_ORIGINS: '*', WARDEN_LOG_LEVEL: 'debug' };
    const result = await runWarden(['config', 'check'], { cwd, env });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^profile: production$/m);
    expect(result.stdout).toMatch(/^WARDEN_SECRET_KEY\s+\*{8} \(set, 8 chars\)\s+\[env\]$/m);
    expect(result.stdout).toMatch(/^WARDEN_CORS_ORIGINS\s+\*\s+\[env\]$/m);
    expect(result.stdout).not.toContain('changeme');
    expect(result.stdout).toContain(
      [
        'production check: 3 problem(s)',
        '  - WARDEN_SECRET_KEY is a known default or example value: generate a random one with `openssl rand -base64 48`',
        '  - WARDEN_CORS_ORIGINS allows every origin (*): list the exact origins instead',
        '  - WARDEN_LOG_LEVEL is debug: use info or higher in production',
      ].join('\n'),
    );
  });

  it('config check fetches the secrets the service would take from the secrets provider (Vault here), not reporting them missing', async () => {
    const vault = await startVaultStandIn({ rootToken: 'root-token' });
    try {
      const secret = 'Vq8m2Zr7Lx4Tn9Wp1Hs6Bd0Fg5Jc3Nk7Rv2Xy8Ua4Ze9Mw1Ko6Pi5Ls0Dt3Gb';
      vault.kv.set('secret/warden/WARDEN_SECRET_KEY', { value: secret });
      // Staging: production refuses the stand-in's plain-http address before any request.
      const env = { WARDEN_ENV: 'staging', WARDEN_SECRETS_PROVIDER: 'vault', WARDEN_VAULT_ADDR: vault.url, WARDEN_VAULT_TOKEN: 'root-token' };
      const result = await runWarden(['config', 'check'], { cwd: tmp(), env });
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(/^WARDEN_SECRET_KEY\s+\*{8} \(set, [^)]*\)\s+\[secrets-provider\]$/m);
      expect(result.stdout).not.toContain('WARDEN_SECRET_KEY is missing');
      expect(result.stdout).not.toContain(secret);
      expect(vault.requests.some((r) => r.path.endsWith('/WARDEN_SECRET_KEY'))).toBe(true);
    } finally {
      await vault.close();
    }
  });

  it('config check prints the same in staging and production, and lists a missing secret key as a problem (exit 1)', async () => {
    const outputs: string[] = [];
    const cwd = tmp();
    for (const profile of ['staging', 'production']) {
      const result = await runWarden(['config', 'check'], { cwd, env: { WARDEN_ENV: profile, WARDEN_CORS_ORIGINS: '*' } });
      expect(result.code, profile).toBe(1);
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(/^WARDEN_SECRET_KEY\s+\(unset\)\s+\[default\]$/m);
      expect(result.stdout).toContain('  - WARDEN_SECRET_KEY is missing: set it (or WARDEN_SECRET_KEY_FILE)');
      outputs.push(
        result.stdout
          .replace(/^(profile: |WARDEN_ENV\s+)\w+/gm, '$1…')
          .replace(/^(WARDEN_RATELIMIT_(FAILURE_POLICY|ALLOW_MEMORY_FALLBACK)\s+)\S+/gm, '$1…')
          // Staging says that its production check loads the settings as production would.
          .replace(/^production check: judged as .*\n/m, ''),
      );
    }
    expect(outputs[0]).toBe(outputs[1]);
  });

  it('config check exits 78 without a settings table when a value cannot be parsed at all, in production too', async () => {
    const result = await runWarden(['config', 'check'], { cwd: tmp(), env: { WARDEN_ENV: 'production', WARDEN_CORS_ORIGINS: '*', WARDEN_PORT: 'eighty' } });
    expect(result.code).toBe(78);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^warden: the configuration is not usable:\n {2}- WARDEN_PORT .*\n$/);
  });

  it('reports an invalid value by variable name', async () => {
    const result = await runWarden(['config', 'check'], { cwd: tmp(), env: { WARDEN_PORT: '70000' } });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('WARDEN_PORT must be between 0 and 65535, got 70000');
  });

  it('migrate --status lists pending migrations (exit 1), migrate applies them, then status is clean', async () => {
    const cwd = tmp();
    const env = { WARDEN_SECRET_KEY: TEST_SECRET_KEY, WARDEN_DATABASE_URL: `sqlite:${path.join(cwd, 'w.db')}` };
    const before = await runWarden(['migrate', '--status'], { cwd, env });
    expect(before.code).toBe(1);
    expect(before.stdout).toMatch(/^pending\s+0001_core$/m);
    const apply = await runWarden(['migrate'], { cwd, env });
    expect(apply.code).toBe(0);
    expect(apply.stdout).toMatch(/^applied \d+: 0001_core/);
    const after = await runWarden(['migrate', '--status'], { cwd, env });
    expect(after.code).toBe(0);
    expect(after.stdout).toMatch(/^applied\s+0001_core\s+\d{4}-/m);
  });

  it('migrate exits 69 when the database is unreachable', async () => {
    const result = await runWarden(['migrate'], { cwd: tmp(), env: { WARDEN_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x', WARDEN_DB_STATEMENT_TIMEOUT_MS: '1000' } });
    expect(result.code).toBe(69);
    expect(result.stderr).toContain('The database is unreachable');
  });

  it('serve starts, answers /healthz and exits 0 on SIGTERM', async () => {
    const cwd = tmp();
    const { spawn } = await import('node:child_process');
    const { WARDEN_BIN } = await import('../helpers/cli.js');
    const child = spawn(process.execPath, [WARDEN_BIN, 'serve', '--port', '0'], {
      cwd,
      env: { PATH: process.env.PATH ?? '', WARDEN_LOG_LEVEL: 'warn' },
    });
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const match = /listening on (http:\/\/[^\s]+)/.exec(out);
        if (match?.[1] !== undefined) resolve(match[1]);
      });
      child.on('exit', (code) => reject(new Error(`exited early with ${code}: ${out}`)));
    });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
