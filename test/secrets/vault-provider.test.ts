import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createChainProvider } from '../../src/secrets/chain-provider.js';
import { createEnvProvider } from '../../src/secrets/env-provider.js';
import { SecretManager } from '../../src/secrets/secret-manager.js';
import { SecretNotFoundError, SecretProviderError } from '../../src/secrets/secret-provider.js';
import { createVaultProvider } from '../../src/secrets/vault-provider.js';
import { startVaultStandIn, type VaultStandIn } from './vault-stand-in.js';

let vault: VaultStandIn | undefined;
afterEach(async () => {
  await vault?.close();
  vault = undefined;
});

describe('Vault KV v2 provider (against a local stand-in speaking the documented protocol)', () => {
  it('reads, writes and lists with a token, under a mount and path', async () => {
    vault = await startVaultStandIn({ rootToken: 'root-token' });
    vault.kv.set('kv/apps/warden/DB', { user: 'app', password: 'pw' });
    vault.kv.set('kv/apps/warden/WARDEN_SECRET_KEY', { value: 'sk' });
    vault.kv.set('kv/apps/warden/SINGLE', { anything: 'only-field' });
    const provider = createVaultProvider({ address: vault.url, token: 'root-token', mount: 'kv', path: '/apps/warden/' });
    const manager = new SecretManager(provider, { cacheTtlMs: 0 });
    expect(await manager.get('WARDEN_SECRET_KEY')).toBe('sk');
    expect(await manager.get('SINGLE')).toBe('only-field');
    expect(await manager.get('DB#password')).toBe('pw');
    expect(await manager.getJson('DB')).toEqual({ user: 'app', password: 'pw' });
    await expect(manager.get('NOPE')).rejects.toThrow(SecretNotFoundError);
    await manager.set('NEW', 'n');
    expect(vault.kv.get('kv/apps/warden/NEW')).toEqual({ value: 'n' });
    expect(await manager.list('WARDEN_')).toEqual(['WARDEN_SECRET_KEY']);
    expect(await manager.list()).toEqual(['DB', 'NEW', 'SINGLE', 'WARDEN_SECRET_KEY']);
    expect(vault.requests.some((r) => r.method === 'LIST' && r.path === '/v1/kv/metadata/apps/warden/')).toBe(true);
  });

  it('logs in with AppRole, sends the namespace, and logs in again when the token is refused', async () => {
    vault = await startVaultStandIn({ namespace: 'team-a', roleId: 'role', secretId: 'sid' });
    vault.kv.set('secret/warden/K', { value: 'v' });
    const provider = createVaultProvider({ address: vault.url, appRole: { roleId: 'role', secretId: 'sid' }, namespace: 'team-a', path: 'warden' });
    expect(await provider.get('K')).toBe('v');
    expect(vault.requests[0]).toEqual({ method: 'POST', path: '/v1/auth/approle/login', namespace: 'team-a' });
    vault.tokens.clear(); // the token was revoked server-side
    expect(await provider.get('K')).toBe('v');
    expect(vault.requests.filter((r) => r.path === '/v1/auth/approle/login')).toHaveLength(2);
    expect(vault.requests.every((r) => r.namespace === 'team-a')).toBe(true);
  });

  it('fails with a typed error naming the status, never the credentials', async () => {
    vault = await startVaultStandIn({ roleId: 'role', secretId: 'sid' });
    const badLogin = createVaultProvider({ address: vault.url, appRole: { roleId: 'role', secretId: 'wrong-secret-id' } });
    const error = await badLogin.get('K').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretProviderError);
    expect((error as Error).message).toBe('secret provider vault: AppRole login failed (HTTP 400)');
    const badToken = createVaultProvider({ address: vault.url, token: 'not-a-token' });
    await expect(badToken.get('K')).rejects.toThrow('reading K failed (HTTP 403)');
    const down = createVaultProvider({ address: 'http://127.0.0.1:1', token: 't', timeoutMs: 500 });
    await expect(down.get('K')).rejects.toBeInstanceOf(SecretProviderError);
  });
});

const haveOpenssl = spawnSync('openssl', ['version']).status === 0;
if (!haveOpenssl) console.warn('SKIPPING Vault TLS test: openssl is not available to make a test certificate');

describe.skipIf(!haveOpenssl)('Vault provider over TLS', () => {
  it('trusts a custom CA from WARDEN_VAULT_CA_FILE and refuses an unknown certificate', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-vault-tls-'));
    try {
      const key = path.join(dir, 'key.pem');
      const cert = path.join(dir, 'cert.pem');
      const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
      expect(made.status).toBe(0);
      vault = await startVaultStandIn({ rootToken: 'root', tls: { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') } });
      vault.kv.set('secret/K', { value: 'over-tls' });
      expect(await createVaultProvider({ address: vault.url, token: 'root', caFile: cert }).get('K')).toBe('over-tls');
      await expect(createVaultProvider({ address: vault.url, token: 'root' }).get('K')).rejects.toBeInstanceOf(SecretProviderError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Vault provider against a hostile server', () => {
  const serve = async (handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> => {
    const server = http.createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => {
        server.closeAllConnections();
        return new Promise((resolve) => server.close(() => resolve()));
      },
    };
  };

  it('gives up after timeoutMs even when the server keeps trickling bytes', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const timer = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(timer));
    });
    try {
      const provider = createVaultProvider({ address: server.url, token: 't', timeoutMs: 300 });
      // Without the whole-request deadline this never settles, and the test's own timeout fails it.
      await expect(provider.get('K')).rejects.toThrow(SecretProviderError);
    } finally {
      await server.close();
    }
  });

  it('refuses a response body larger than 1 MiB', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"data":{"data":{"value":"${'x'.repeat(2 * 1024 * 1024)}"}}}`);
    });
    try {
      await expect(createVaultProvider({ address: server.url, token: 't' }).get('K')).rejects.toThrow(/larger than/);
    } finally {
      await server.close();
    }
  });

  it('a 200 it cannot read is a provider error naming the secret and the Vault, never "not found"', async () => {
    let answer = '';
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(answer);
    });
    try {
      const provider = createVaultProvider({ address: server.url, token: 't' });
      const failure = async (promise: Promise<unknown>): Promise<SecretProviderError> => {
        const error = await promise.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(SecretProviderError);
        return error as SecretProviderError;
      };
      const cases: [body: string, why: string][] = [
        ['<html>proxy login page kv-secret-value</html>', 'a body that is empty or not JSON'],
        ['', 'a body that is empty or not JSON'],
        // A KV version 1 mount answers {data: {...}} without the inner data.
        ['{"data":{"value":"kv-secret-value"}}', 'JSON without a data.data object (is the mount KV version 2?)'],
        ['{"data":{"data":["kv-secret-value"]}}', 'JSON without a data.data object (is the mount KV version 2?)'],
      ];
      for (const [body, why] of cases) {
        answer = body;
        const error = await failure(provider.get('K'));
        expect(error.message, body).toBe(`secret provider vault: reading K failed: ${server.url} answered HTTP 200 with ${why}`);
        expect(error.message).not.toContain('kv-secret-value');
        expect(error.unavailable).toBe(false);
      }
      // A chain does not fall through to the next provider, and an optional secret is not "unset".
      answer = '<html></html>';
      const chain = createChainProvider([provider, createEnvProvider({ K: 'from-env' })]);
      await expect(chain.get('K')).rejects.toThrow(SecretProviderError);
      await expect(new SecretManager(provider, { cacheTtlMs: 0 }).getOptional('K')).rejects.toThrow(SecretProviderError);
      // Listing: the same.
      expect((await failure(provider.list!(''))).message).toBe(`secret provider vault: listing failed: ${server.url} answered HTTP 200 with a body that is empty or not JSON`);
      answer = '{"data":{}}';
      expect((await failure(provider.list!(''))).message).toBe(`secret provider vault: listing failed: ${server.url} answered HTTP 200 with JSON without a data.keys list`);
      // A deleted or destroyed latest version is readable, and means absent (Vault sends it with 404).
      answer = '{"data":{"data":null,"metadata":{"deletion_time":"2024-01-01T00:00:00Z","destroyed":false,"version":2}}}';
      expect(await provider.get('K')).toBeUndefined();
      answer = '{"data":{"data":null,"metadata":{"deletion_time":"","destroyed":true,"version":2}}}';
      expect(await provider.get('K')).toBeUndefined();
      answer = '{"data":{"data":null,"metadata":{"deletion_time":"","destroyed":false,"version":2}}}';
      await failure(provider.get('K'));
    } finally {
      await server.close();
    }
  });
});
