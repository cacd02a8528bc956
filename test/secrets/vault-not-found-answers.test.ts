import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { createChainProvider } from '../../src/secrets/chain-provider.js';
import { createEnvProvider } from '../../src/secrets/env-provider.js';
import { SecretProviderError } from '../../src/secrets/secret-provider.js';
import { createVaultProvider } from '../../src/secrets/vault-provider.js';
import { startVaultStandIn, type VaultStandIn } from './vault-stand-in.js';

// Only Vault's own "no such entry" (404 with `{"errors":[]}`, or a deleted version's metadata)
// means a secret is absent. Any other 404 (a wrong namespace or mount answers "no handler for
// route"; a proxy answers its own page) is a provider error: taken as absent, every Vault secret
// would look unset and a chain would silently serve the next provider's value.

let vault: VaultStandIn | undefined;
let server: http.Server | undefined;
afterEach(async () => {
  await vault?.close();
  vault = undefined;
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
});

async function serve(listener: http.RequestListener): Promise<string> {
  server = http.createServer(listener);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

it('a wrong namespace is a provider error, and a chain does not fall through to the next provider', async () => {
  vault = await startVaultStandIn({ namespace: 'team-a', rootToken: 'root-token' });
  vault.kv.set('secret/warden/DB_PASSWORD', { value: 'from-vault' });
  const vaultProvider = createVaultProvider({
    address: vault.url,
    token: 'root-token',
    namespace: 'team-b',
    path: 'warden',
  });
  const chain = createChainProvider([vaultProvider, createEnvProvider({ DB_PASSWORD: 'stale-env-value' })]);
  await expect(chain.get('DB_PASSWORD')).rejects.toBeInstanceOf(SecretProviderError);
  await expect(vaultProvider.list!('')).rejects.toThrow(/HTTP 404 that is not a KV v2 "no such entry"/);
});

it('a missing entry in the right namespace is still absent, and a chain goes on to the next provider', async () => {
  vault = await startVaultStandIn({ namespace: 'team-a', rootToken: 'root-token' });
  const vaultProvider = createVaultProvider({
    address: vault.url,
    token: 'root-token',
    namespace: 'team-a',
    path: 'warden',
  });
  const chain = createChainProvider([vaultProvider, createEnvProvider({ DB_PASSWORD: 'env-value' })]);
  expect(await vaultProvider.get('DB_PASSWORD')).toBeUndefined();
  expect(await vaultProvider.list!('')).toEqual([]);
  expect(await chain.get('DB_PASSWORD')).toBe('env-value');
});

it("a proxy's 404 page in front of Vault is a provider error naming the origin", async () => {
  const url = await serve((_req, res) => {
    res.writeHead(404, { 'content-type': 'text/html' });
    res.end('<html><body><h1>404 Not Found</h1>nginx</body></html>');
  });
  const provider = createVaultProvider({ address: url, token: 't', path: 'warden' });
  const failure = await provider.get('DB_PASSWORD').catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(SecretProviderError);
  expect((failure as Error).message).toContain(new URL(url).origin);
  expect((failure as Error).message).not.toContain('nginx');
});

it('a deleted latest version answered with 404 and its metadata is absent', async () => {
  const url = await serve((_req, res) => {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        data: {
          data: null,
          metadata: { deletion_time: '2026-12-01T00:00:00Z', destroyed: false, version: 3 },
        },
      }),
    );
  });
  const provider = createVaultProvider({ address: url, token: 't', path: 'warden' });
  expect(await provider.get('DB_PASSWORD')).toBeUndefined();
});

it('an address with a path keeps it in front of /v1 (Vault behind a proxy at a prefix)', async () => {
  const paths: string[] = [];
  const url = await serve((req, res) => {
    paths.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ data: { data: { value: 'behind-proxy' }, metadata: { version: 1 } } }));
  });
  const provider = createVaultProvider({ address: `${url}/vault/`, token: 't', path: 'warden' });
  expect(await provider.get('DB_PASSWORD')).toBe('behind-proxy');
  expect(paths).toEqual(['/vault/v1/secret/data/warden/DB_PASSWORD']);
});
