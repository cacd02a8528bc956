import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../src/errors/index.js';
import { resolveServiceSecrets } from '../../src/secrets/resolve-service-secrets.js';
import { providersFromSettings, secretManagerFromEnv } from '../../src/secrets/secret-manager-from-settings.js';
import { SecretProviderError } from '../../src/secrets/secret-provider.js';
import { NO_PROVIDER_SETTINGS } from './provider-settings.js';
import { startVaultStandIn, type VaultStandIn } from './vault-stand-in.js';

// `warden serve`, `config check` and the other commands resolve the service's own secrets from
// the provider before loadSettings runs the production checks. A plain-http Vault must be
// refused before that, or the token (or the AppRole login) has already crossed the network in
// clear by the time production refuses the address. The same holds for secrets fetched from a
// plain-http AWS endpoint on another host.

const PLAIN_HTTP = 'WARDEN_VAULT_ADDR uses plain http: use https so the Vault token and secrets are encrypted in transit';
const PLAIN_HTTP_AWS = 'WARDEN_AWS_ENDPOINT uses plain http to a remote host: use https so the secrets it returns are encrypted in transit';
const NO_CREDENTIALS =
  'the vault secrets provider needs credentials: set WARDEN_VAULT_TOKEN (or WARDEN_VAULT_TOKEN_FILE), or WARDEN_VAULT_ROLE_ID and WARDEN_VAULT_SECRET_ID for AppRole';

let vault: VaultStandIn;
let dir: string;
beforeEach(async () => {
  vault = await startVaultStandIn({ rootToken: 'root-token', roleId: 'role', secretId: 'sid' });
  vault.kv.set('secret/warden/WARDEN_SECRET_KEY', { value: 'from-vault' });
  dir = mkdtempSync(path.join(os.tmpdir(), 'warden-plain-http-vault-'));
});
afterEach(async () => {
  await vault.close();
  rmSync(dir, { recursive: true, force: true });
});

async function problemsOf(promise: Promise<unknown>): Promise<readonly string[]> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  return (error as ConfigError).problems;
}

describe('a plain-http Vault address in production', () => {
  it('is refused before any connection, with the production check\'s line (ConfigError, exit 78)', async () => {
    const token = { WARDEN_SECRETS_PROVIDER: 'vault', WARDEN_VAULT_ADDR: vault.url, WARDEN_VAULT_TOKEN: 'root-token' };
    const cases: Record<string, string>[] = [
      { WARDEN_ENV: 'production', ...token },
      // AppRole: the login body (role and secret id) would go out first.
      { WARDEN_ENV: 'production', WARDEN_SECRETS_PROVIDER: 'vault', WARDEN_VAULT_ADDR: vault.url, WARDEN_VAULT_ROLE_ID: 'role', WARDEN_VAULT_SECRET_ID: 'sid' },
      // The scheme is compared after URL parsing: upper case is plain http too.
      { WARDEN_ENV: 'production', ...token, WARDEN_VAULT_ADDR: vault.url.replace('http://', 'HTTP://') },
      // auto and chain pick Vault because the address is set.
      { WARDEN_ENV: 'production', ...token, WARDEN_SECRETS_PROVIDER: 'auto' },
      { WARDEN_ENV: 'production', ...token, WARDEN_SECRETS_PROVIDER: 'chain' },
    ];
    for (const env of cases) {
      expect(await problemsOf(resolveServiceSecrets({ env, envFile: false })), JSON.stringify(env)).toEqual([PLAIN_HTTP]);
      // `warden secrets get/list` builds its manager the same way.
      expect(() => secretManagerFromEnv({ env, envFile: false }), JSON.stringify(env)).toThrow(ConfigError);
    }
    // Every problem of the provider at once.
    expect(await problemsOf(resolveServiceSecrets({ env: { WARDEN_ENV: 'production', WARDEN_SECRETS_PROVIDER: 'vault', WARDEN_VAULT_ADDR: vault.url }, envFile: false }))).toEqual([
      PLAIN_HTTP,
      NO_CREDENTIALS,
    ]);
    expect(vault.connections).toBe(0);
    expect(vault.requests).toEqual([]);
  });

  it('takes the profile from the same sources as the settings: WARDEN_ENV_FILE, the secrets directory, .env', async () => {
    const envFile = path.join(dir, 'warden-env');
    writeFileSync(envFile, 'production\n');
    const secretsDir = path.join(dir, 'secrets');
    mkdirSync(secretsDir);
    writeFileSync(path.join(secretsDir, 'WARDEN_ENV'), 'production\n');
    const dotenv = path.join(dir, '.env');
    writeFileSync(dotenv, 'WARDEN_ENV=production\n');
    const token = { WARDEN_SECRETS_PROVIDER: 'vault', WARDEN_VAULT_ADDR: vault.url, WARDEN_VAULT_TOKEN: 'root-token' };
    expect(await problemsOf(resolveServiceSecrets({ env: { ...token, WARDEN_ENV_FILE: envFile }, envFile: false }))).toEqual([PLAIN_HTTP]);
    expect(await problemsOf(resolveServiceSecrets({ env: { ...token, WARDEN_SECRETS_DIR: secretsDir }, envFile: false }))).toEqual([PLAIN_HTTP]);
    expect(await problemsOf(resolveServiceSecrets({ env: token, envFile: dotenv }))).toEqual([PLAIN_HTTP]);
    expect(vault.connections).toBe(0);
  });

  it('is refused by providersFromSettings for production settings, loopback included', () => {
    const settings = { ...NO_PROVIDER_SETTINGS, env: 'production' as const, secretsProvider: 'vault' as const, vaultToken: 't' };
    for (const vaultAddr of ['http://127.0.0.1:8200', 'http://localhost:8200', 'http://[::1]:8200', 'http://vault.internal:8200']) {
      expect(() => providersFromSettings({ ...settings, vaultAddr }, {}), vaultAddr).toThrow(ConfigError);
    }
    expect(providersFromSettings({ ...settings, vaultAddr: 'https://vault.internal:8200' }, {}).map((p) => p.name)).toEqual(['vault']);
  });

  it('an https address in production is not refused: the request is made (here: nothing listens)', async () => {
    const env = { WARDEN_ENV: 'production', WARDEN_SECRETS_PROVIDER: 'vault', WARDEN_VAULT_ADDR: 'https://127.0.0.1:1', WARDEN_VAULT_TOKEN: 't' };
    const error = await resolveServiceSecrets({ env, envFile: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretProviderError);
    expect((error as SecretProviderError).unavailable).toBe(true);
  });
});

describe('a plain-http Vault address outside production', () => {
  it('is used in development (the default profile) and in staging, which only warns about it', async () => {
    const token = { WARDEN_SECRETS_PROVIDER: 'vault', WARDEN_VAULT_ADDR: vault.url, WARDEN_VAULT_TOKEN: 'root-token' };
    for (const env of [token, { ...token, WARDEN_ENV: 'development' }, { ...token, WARDEN_ENV: 'staging' }]) {
      expect(await resolveServiceSecrets({ env, envFile: false })).toEqual({ WARDEN_SECRET_KEY: 'from-vault' });
    }
    expect(await secretManagerFromEnv({ env: token, envFile: false }).get('WARDEN_SECRET_KEY')).toBe('from-vault');
    expect(vault.requests.filter((r) => r.path === '/v1/secret/data/warden/WARDEN_SECRET_KEY')).toHaveLength(4);
  });
});

describe('a plain-http AWS endpoint in production', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('is refused before any request when it names another host (ConfigError with the production check\'s line)', async () => {
    for (const endpoint of ['http://secrets.internal:4566', 'HTTP://10.0.0.7:4566']) {
      const env = { WARDEN_ENV: 'production', WARDEN_SECRETS_PROVIDER: 'aws', WARDEN_AWS_REGION: 'eu-west-1', WARDEN_AWS_ENDPOINT: endpoint };
      // A ConfigError, not a failed lookup or connection: nothing was attempted.
      expect(await problemsOf(resolveServiceSecrets({ env, envFile: false })), endpoint).toEqual([PLAIN_HTTP_AWS]);
      expect(() => secretManagerFromEnv({ env, envFile: false }), endpoint).toThrow(ConfigError);
    }
  });

  it('is used when it is this machine (an emulator), as the production check allows', async () => {
    let connections = 0;
    const server = http.createServer((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
      res.end('{"__type":"InvalidRequestException","message":"stand-in"}');
    });
    server.on('connection', () => (connections += 1));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'testing');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'testing');
    try {
      const env = {
        WARDEN_ENV: 'production',
        WARDEN_SECRETS_PROVIDER: 'aws',
        WARDEN_AWS_REGION: 'eu-west-1',
        WARDEN_AWS_ENDPOINT: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      };
      await expect(resolveServiceSecrets({ env, envFile: false })).rejects.toThrow(SecretProviderError);
      expect(connections).toBeGreaterThan(0);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
