import { readFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';
import { runWarden } from '../helpers/cli.js';
import { scratchDirs } from '../helpers/scratch-dirs.js';

// Every failure a new user meets exits with the code docs/operations.md documents for it,
// with one line that says what is wrong, never "unexpected error".

const tmp = scratchDirs('warden-exit-');

const BASE = { WARDEN_SECRET_KEY: TEST_SECRET_KEY, WARDEN_LOG_LEVEL: 'warn' };

async function listeningServer(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('exit codes of the CLI', () => {
  it('docs/operations.md lists every exit code the CLI uses', () => {
    const docs = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
    const table = docs.slice(docs.indexOf('## Exit codes of the CLI'));
    const documented = [...table.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
    expect(documented).toEqual([...new Set(Object.values(EXIT))].sort((a, b) => a - b));
  });

  it('a secrets provider without its address or region is a configuration error (78) naming the variable', async () => {
    const cases: { env: Record<string, string>; line: string }[] = [
      {
        env: { WARDEN_SECRETS_PROVIDER: 'vault' },
        line: '  - WARDEN_SECRETS_PROVIDER=vault needs WARDEN_VAULT_ADDR: set it to the Vault address, e.g. https://vault.internal:8200',
      },
      {
        env: { WARDEN_SECRETS_PROVIDER: 'aws' },
        line: '  - WARDEN_SECRETS_PROVIDER=aws needs WARDEN_AWS_REGION: set it to the region that holds the secrets, e.g. eu-west-1',
      },
      {
        env: { WARDEN_SECRETS_PROVIDER: 'vault', WARDEN_VAULT_ADDR: 'http://127.0.0.1:1' },
        line: '  - the vault secrets provider needs credentials: set WARDEN_VAULT_TOKEN (or WARDEN_VAULT_TOKEN_FILE), or WARDEN_VAULT_ROLE_ID and WARDEN_VAULT_SECRET_ID for AppRole',
      },
    ];
    for (const { env, line } of cases) {
      for (const args of [
        ['secrets', 'get', 'X'],
        ['serve', '--port', '0'],
        ['keys', 'list'],
      ]) {
        const result = await runWarden(args, { cwd: tmp(), env: { ...BASE, ...env } });
        expect(result.code, `${args[0]} ${JSON.stringify(env)}`).toBe(78);
        expect(result.stderr).toBe(`warden: the configuration is not usable:\n${line}\n`);
      }
    }
  });

  it('an unreachable secrets backend is an unavailable service (69), the token never shown', async () => {
    const env = {
      ...BASE,
      WARDEN_SECRETS_PROVIDER: 'vault',
      WARDEN_VAULT_ADDR: 'http://127.0.0.1:1',
      WARDEN_VAULT_TOKEN: 'hvs.never-shown-token',
    };
    for (const args of [
      ['secrets', 'get', 'X'],
      ['serve', '--port', '0'],
      ['keys', 'list'],
    ]) {
      const result = await runWarden(args, { cwd: tmp(), env });
      expect(result.code, args.join(' ')).toBe(69);
      expect(result.stderr).toBe(
        'warden: secret provider vault: request to http://127.0.0.1:1 failed (ECONNREFUSED) (secret_provider_error)\n',
      );
      expect(result.stdout + result.stderr).not.toContain('never-shown-token');
    }
  });

  it('an input file that cannot be read exits 66 (EX_NOINPUT) and names it', async () => {
    const cwd = tmp();
    const cases = [
      {
        args: ['users', 'import', 'nosuch.jsonl'],
        line: 'warden: cannot read nosuch.jsonl: no such file (ENOENT)\n',
      },
      {
        args: ['keys', 'import', '--file', 'nosuch.jsonl'],
        line: 'warden: cannot read nosuch.jsonl: no such file (ENOENT)\n',
      },
      { args: ['users', 'import', cwd], line: `warden: cannot read ${cwd}: it is a directory (EISDIR)\n` },
    ];
    for (const { args, line } of cases) {
      const result = await runWarden(args, { cwd, env: BASE });
      expect(result.code, args.join(' ')).toBe(66);
      expect(result.stderr).toBe(line);
    }
  });

  it('serve on a port in use exits 71 (EX_OSERR) with one line naming the port and address', async () => {
    const taken = await listeningServer();
    try {
      const result = await runWarden(['serve'], {
        cwd: tmp(),
        env: { ...BASE, WARDEN_PORT: String(taken.port) },
      });
      expect(result.code).toBe(71);
      expect(result.stderr).toContain(
        `warden: port ${taken.port} on 127.0.0.1 is already in use: stop what listens there or choose another with --port or WARDEN_PORT\n`,
      );
      expect(result.stderr).not.toContain('unexpected error');
    } finally {
      await taken.close();
    }
  });

  it('serve on an address this machine does not have is a configuration error (78)', async () => {
    // 192.0.2.0/24 is TEST-NET-1: documentation only, never assigned to a host.
    const result = await runWarden(['serve', '--host', '192.0.2.7', '--port', '0'], {
      cwd: tmp(),
      env: BASE,
    });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain(
      'warden: 192.0.2.7 is not an address of this machine: set WARDEN_HOST (or --host) to one of its addresses, 127.0.0.1 or 0.0.0.0\n',
    );
  });

  it('crypto keygen with a bad --key-id is a usage error (2)', async () => {
    const result = await runWarden(['crypto', 'keygen', '--format', 'aes-gcm', '--key-id', 'bad id!'], {
      cwd: tmp(),
      env: BASE,
    });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'warden: --key-id is not usable: key id must be 1-32 characters of A-Z a-z 0-9 _ -\n',
    );
  });
});
