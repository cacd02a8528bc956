import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/index.js';
import { createAwsProvider } from '../../src/secrets/aws-provider.js';
import { providersFromSettings } from '../../src/secrets/secret-manager-from-settings.js';
import { SecretProviderError } from '../../src/secrets/secret-provider.js';
import { createVaultProvider } from '../../src/secrets/vault-provider.js';
import { NO_PROVIDER_SETTINGS } from './provider-settings.js';
import { startVaultStandIn, type VaultStandIn } from './vault-stand-in.js';

// A provider that cannot be built from the settings is a configuration problem naming the
// variable; a backend that cannot be reached (or answers 5xx) is "unavailable", one that answers
// and refuses is not: the CLI exits 78, 69 and 1 for them (docs/operations.md).

let vault: VaultStandIn | undefined;
let server: http.Server | undefined;
afterEach(async () => {
  await vault?.close();
  vault = undefined;
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
});

const BASE = NO_PROVIDER_SETTINGS;

function problemsOf(build: () => unknown): readonly string[] {
  try {
    build();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

async function failureOf(promise: Promise<unknown>): Promise<SecretProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SecretProviderError);
  return error as SecretProviderError;
}

describe('providers built from the settings', () => {
  it('refuse missing settings with a ConfigError naming the variable', () => {
    expect(problemsOf(() => providersFromSettings({ ...BASE, secretsProvider: 'vault' }, {}))).toEqual([
      'WARDEN_SECRETS_PROVIDER=vault needs WARDEN_VAULT_ADDR: set it to the Vault address, e.g. https://vault.internal:8200',
    ]);
    expect(problemsOf(() => providersFromSettings({ ...BASE, secretsProvider: 'aws' }, {}))).toEqual([
      'WARDEN_SECRETS_PROVIDER=aws needs WARDEN_AWS_REGION: set it to the region that holds the secrets, e.g. eu-west-1',
    ]);
    expect(
      problemsOf(() =>
        providersFromSettings(
          { ...BASE, secretsProvider: 'auto', vaultAddr: 'https://vault.internal:8200' },
          {},
        ),
      )[0],
    ).toMatch(/^the vault secrets provider needs credentials: set WARDEN_VAULT_TOKEN/);
    expect(
      problemsOf(() =>
        providersFromSettings(
          {
            ...BASE,
            secretsProvider: 'vault',
            vaultAddr: 'https://vault.internal:8200',
            vaultToken: 't',
            vaultCaFile: '/nonexistent/ca.pem',
          },
          {},
        ),
      ),
    ).toEqual(['WARDEN_VAULT_CA_FILE cannot be read (ENOENT): /nonexistent/ca.pem']);
  });
});

describe('SecretProviderError.unavailable', () => {
  it('is true when Vault cannot be reached or answers 5xx (sealed), false when it answers and refuses', async () => {
    const down = createVaultProvider({ address: 'http://127.0.0.1:1', token: 't', timeoutMs: 500 });
    const refused = await failureOf(down.get('K'));
    expect(refused.message).toBe('secret provider vault: request to http://127.0.0.1:1 failed (ECONNREFUSED)');
    expect(refused.unavailable).toBe(true);

    server = http.createServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"errors":["Vault is sealed"]}');
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const sealed = createVaultProvider({
      address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      token: 't',
    });
    expect((await failureOf(sealed.get('K'))).unavailable).toBe(true);

    vault = await startVaultStandIn({ rootToken: 'root-token' });
    const denied = await failureOf(
      createVaultProvider({ address: vault.url, token: 'not-a-token' }).get('K'),
    );
    expect(denied.message).toBe('secret provider vault: reading K failed (HTTP 403)');
    expect(denied.unavailable).toBe(false);
  });

  it('is true when the AWS endpoint cannot be reached', async () => {
    const aws = createAwsProvider({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:1', timeoutMs: 1000 });
    const previous = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = 'test-access-key';
    process.env.AWS_SECRET_ACCESS_KEY = 'test-secret-key';
    try {
      const failure = await failureOf(aws.get('K'));
      expect(failure.unavailable).toBe(true);
      // Says where and why, as the Vault provider does; never the credentials.
      expect(failure.message).toBe('secret provider aws: reading K at http://127.0.0.1:1 failed (ECONNREFUSED)');
      expect(failure.message).not.toContain('test-secret-key');
    } finally {
      aws.close();
      if (previous.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
      else process.env.AWS_ACCESS_KEY_ID = previous.id;
      if (previous.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      else process.env.AWS_SECRET_ACCESS_KEY = previous.secret;
    }
  });
});
