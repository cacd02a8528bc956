import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createChainProvider } from '../../src/secrets/chain-provider.js';
import { createEnvProvider } from '../../src/secrets/env-provider.js';
import { createFileProvider } from '../../src/secrets/file-provider.js';
import { SecretManager } from '../../src/secrets/secret-manager.js';
import { providersFromSettings, secretManagerFromEnv } from '../../src/secrets/secret-manager-from-settings.js';
import { SecretNotFoundError, SecretProviderError, type SecretProvider } from '../../src/secrets/secret-provider.js';
import { resolveServiceSecrets } from '../../src/secrets/resolve-service-secrets.js';
import { loadSettings } from '../../src/config/index.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';
import { NO_PROVIDER_SETTINGS } from './provider-settings.js';
import { startVaultStandIn } from './vault-stand-in.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'warden-secrets-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  vi.useRealTimers();
});

describe('env and file providers', () => {
  it('env: get, list by prefix, set without touching the source record', async () => {
    const env = { APP_DB: 'pw', APP_KEY: 'k', OTHER: 'o', EMPTY: '' };
    const provider = createEnvProvider(env);
    expect(await provider.get('APP_DB')).toBe('pw');
    expect(await provider.get('EMPTY')).toBeUndefined();
    expect(await provider.list!('APP_')).toEqual(['APP_DB', 'APP_KEY']);
    await provider.set!('APP_NEW', 'n');
    expect(await provider.get('APP_NEW')).toBe('n');
    expect(env).not.toHaveProperty('APP_NEW');
  });

  it('files: NAME_FILE first, then <dir>/NAME without the trailing newline; set writes 0600; names cannot escape', async () => {
    writeFileSync(path.join(dir, 'DB_PASSWORD'), 'from-dir\n');
    const pointed = path.join(dir, 'elsewhere.txt');
    writeFileSync(pointed, 'from-pointer\n');
    const provider = createFileProvider({ dir, env: { API_TOKEN_FILE: pointed } });
    expect(await provider.get('DB_PASSWORD')).toBe('from-dir');
    expect(await provider.get('API_TOKEN')).toBe('from-pointer');
    expect(await provider.get('MISSING')).toBeUndefined();
    await provider.set!('NEW_SECRET', 'v');
    expect(await provider.get('NEW_SECRET')).toBe('v');
    expect(statSync(path.join(dir, 'NEW_SECRET')).mode & 0o777).toBe(0o600);
    expect(await provider.list!('')).toEqual(['DB_PASSWORD', 'NEW_SECRET', 'elsewhere.txt']);
    await expect(provider.get('../etc/passwd')).rejects.toThrow(TypeError);
    await expect(createFileProvider({ env: { X_FILE: path.join(dir, 'nope') } }).get('X')).rejects.toThrow(SecretProviderError);
  });

  it('files: only regular files of at most 64 KiB are read; errors name the variable and the path, never content', async () => {
    const limit = 64 * 1024;
    const big = path.join(dir, 'BIG');
    writeFileSync(big, 'b'.repeat(limit + 1));
    writeFileSync(path.join(dir, 'EXACT'), 'e'.repeat(limit));
    mkdirSync(path.join(dir, 'A_DIRECTORY'));
    symlinkSync('/dev/zero', path.join(dir, 'ZERO_LINK'));
    symlinkSync(path.join(dir, 'EXACT'), path.join(dir, 'LINKED')); // /run/secrets entries are often symlinks
    const pointers = createFileProvider({ env: { ZERO_FILE: '/dev/zero', URANDOM_FILE: '/dev/urandom', BIG_FILE: big } });
    const inDir = createFileProvider({ dir, env: {} });
    const failure = async (promise: Promise<unknown>): Promise<string> => {
      const error = await promise.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(SecretProviderError);
      return (error as Error).message;
    };
    // Without the checks, /dev/zero and /dev/urandom are read until memory runs out.
    expect(await failure(pointers.get('ZERO'))).toBe('secret provider file: ZERO_FILE (/dev/zero) is not a regular file');
    expect(await failure(pointers.get('URANDOM'))).toBe('secret provider file: URANDOM_FILE (/dev/urandom) is not a regular file');
    expect(await failure(pointers.get('BIG'))).toBe(`secret provider file: BIG_FILE (${big}) is larger than 65536 bytes`);
    expect(await failure(inDir.get('BIG'))).toBe(`secret provider file:${dir}: BIG in the secrets directory (${big}) is larger than 65536 bytes`);
    expect(await failure(inDir.get('A_DIRECTORY'))).toBe(`secret provider file:${dir}: A_DIRECTORY in the secrets directory (${path.join(dir, 'A_DIRECTORY')}) is not a regular file`);
    expect(await failure(inDir.get('ZERO_LINK'))).toMatch(/ZERO_LINK in the secrets directory \(.*\) is not a regular file$/);
    expect(await failure(inDir.get('BIG'))).not.toContain('bbb');
    expect(await inDir.get('EXACT')).toHaveLength(limit);
    expect(await inDir.get('LINKED')).toHaveLength(limit);
  });

  it.skipIf(spawnSync('mkfifo', ['--version']).status !== 0)('files: a FIFO is refused at once instead of waiting for a writer', async () => {
    const fifo = path.join(dir, 'PIPE');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    // Opening a FIFO blocks until a writer comes; without O_NONBLOCK the test's own timeout fails this.
    await expect(createFileProvider({ env: { PIPE_FILE: fifo } }).get('PIPE')).rejects.toThrow(`PIPE_FILE (${fifo}) is not a regular file`);
    await expect(createFileProvider({ dir, env: {} }).get('PIPE')).rejects.toThrow('is not a regular file');
  });
});

describe('SecretManager', () => {
  it('names the secret and every provider tried when it is missing, never a value', async () => {
    writeFileSync(path.join(dir, 'PRESENT'), 'super-secret-value');
    const manager = new SecretManager([createFileProvider({ dir, env: {} }), createEnvProvider({ ALSO: 'super-secret-value' })]);
    const error = await manager.get('ABSENT').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretNotFoundError);
    expect((error as SecretNotFoundError).message).toBe(`secret ABSENT was not found (tried: file:${dir}, env)`);
    expect((error as SecretNotFoundError).code).toBe('secret_not_found');
    expect(await manager.get('ALSO')).toBe('super-secret-value');
  });

  it('reads JSON secrets and key paths', async () => {
    const manager = new SecretManager(createEnvProvider({ DB: '{"user":"app","password":"pw","port":5432,"tls":{"ca":"x"}}', BAD: 'not json' }));
    expect(await manager.getJson('DB')).toMatchObject({ user: 'app' });
    expect(await manager.get('DB#password')).toBe('pw');
    expect(await manager.get('DB#port')).toBe('5432');
    expect(await manager.get('DB#tls.ca')).toBe('x');
    await expect(manager.get('DB#nope')).rejects.toThrow(SecretNotFoundError);
    const bad = await manager.getJson('BAD').catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(SecretProviderError);
    expect((bad as Error).message).not.toContain('not json');
  });

  it('caches for the TTL on the injected clock', async () => {
    let now = 0;
    let calls = 0;
    const provider: SecretProvider = { name: 'counting', get: async () => `v${++calls}` };
    const manager = new SecretManager(provider, { cacheTtlMs: 1000, now: () => now });
    expect(await manager.get('A')).toBe('v1');
    now = 999;
    expect(await manager.get('A')).toBe('v1');
    now = 1000;
    expect(await manager.get('A')).toBe('v2');
    manager.invalidate('A');
    expect(await manager.get('A')).toBe('v3');
  });

  it('file: a failed set leaves no temp file holding the value behind', async () => {
    const provider = createFileProvider({ dir, env: {} });
    mkdirSync(path.join(dir, 'TAKEN'));
    writeFileSync(path.join(dir, 'TAKEN', 'x'), '');
    const error = await provider.set!('TAKEN', 'the-value').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretProviderError);
    expect(String((error as Error).message)).not.toContain('the-value');
    expect(readdirSync(dir)).toEqual(['TAKEN']);
  });

  it('watch reports rotations until stopped', async () => {
    vi.useFakeTimers();
    let value = 'one';
    const manager = new SecretManager({ name: 'mutable', get: async () => value }, { cacheTtlMs: 60_000 });
    const seen: (string | undefined)[] = [];
    const stop = manager.watch('K', (v) => seen.push(v), { intervalMs: 1000 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(seen).toEqual([]);
    value = 'two';
    await vi.advanceTimersByTimeAsync(1000);
    expect(seen).toEqual(['two']);
    await vi.advanceTimersByTimeAsync(3000);
    expect(seen).toEqual(['two']);
    stop();
    value = 'three';
    await vi.advanceTimersByTimeAsync(5000);
    expect(seen).toEqual(['two']);
  });

  it('watch and invalidate of a JSON field (NAME#path) bypass the cache of the whole secret', async () => {
    vi.useFakeTimers();
    let value = '{"password":"one"}';
    const manager = new SecretManager({ name: 'mutable', get: async () => value }, { cacheTtlMs: 60_000 });
    const seen: (string | undefined)[] = [];
    const stop = manager.watch('DB#password', (v) => seen.push(v), { intervalMs: 1000 });
    await vi.advanceTimersByTimeAsync(1000);
    value = '{"password":"two"}';
    await vi.advanceTimersByTimeAsync(1000);
    expect(seen).toEqual(['two']);
    stop();
    value = '{"password":"three"}';
    expect(await manager.get('DB#password')).toBe('two');
    manager.invalidate('DB#password');
    expect(await manager.get('DB#password')).toBe('three');
  });

  it('set and list go to the backends that support them', async () => {
    const readOnly: SecretProvider = { name: 'ro', get: async () => undefined };
    await expect(new SecretManager(readOnly).set('A', 'b')).rejects.toThrow(SecretProviderError);
    await expect(new SecretManager(readOnly).list()).rejects.toThrow(SecretProviderError);
    const chain = createChainProvider([readOnly, createFileProvider({ dir, env: {} }), createEnvProvider({ WARDEN_X: '1' })]);
    const manager = new SecretManager(chain);
    await manager.set('WARDEN_Y', '2');
    expect(await manager.list('WARDEN_')).toEqual(['WARDEN_X', 'WARDEN_Y']);
    expect(manager.providerNames).toEqual(['ro', `file:${dir}`, 'env']);
  });
});

describe('configuration', () => {
  const base = NO_PROVIDER_SETTINGS;
  it('auto picks Vault, then AWS, then files and env', () => {
    const names = (s: Partial<typeof base>): string[] => providersFromSettings({ ...base, secretsProvider: 'auto', ...s }, {}).map((p) => p.name);
    expect(names({ vaultAddr: 'http://127.0.0.1:1', vaultToken: 't', awsRegion: 'eu-west-1' })).toEqual(['vault']);
    expect(names({ awsRegion: 'eu-west-1' })).toEqual(['aws']);
    expect(names({})).toEqual(['file', 'env']);
    expect(providersFromSettings({ ...base, secretsProvider: 'chain', awsRegion: 'eu-west-1' }, {}).map((p) => p.name)).toEqual(['aws', 'file', 'env']);
  });

  it('resolves the service secrets from the configured provider, leaving those set another way alone', async () => {
    const vault = await startVaultStandIn({ rootToken: 'root-token' });
    try {
      vault.kv.set('secret/warden/WARDEN_SECRET_KEY', { value: 'from-vault-secret-key' });
      vault.kv.set('secret/warden/WARDEN_ENCRYPTION_KEY', { value: 'k1:from-vault' });
      const env = { WARDEN_SECRETS_PROVIDER: 'vault', WARDEN_VAULT_ADDR: vault.url, WARDEN_VAULT_TOKEN: 'root-token' };
      expect(await resolveServiceSecrets({ env, envFile: false })).toEqual({
        WARDEN_SECRET_KEY: 'from-vault-secret-key',
        WARDEN_ENCRYPTION_KEY: 'k1:from-vault',
      });
      // A secret given as a variable (or NAME_FILE, secrets dir, .env) wins and is not fetched.
      expect(await resolveServiceSecrets({ env: { ...env, WARDEN_SECRET_KEY: 'direct' }, envFile: false })).toEqual({ WARDEN_ENCRYPTION_KEY: 'k1:from-vault' });
      expect(vault.requests.some((r) => r.path.endsWith('/WARDEN_VAULT_TOKEN'))).toBe(false);
    } finally {
      await vault.close();
    }
    // env: nothing to fetch; file: loadSettings itself already reads the secrets directory.
    expect(await resolveServiceSecrets({ env: { WARDEN_SECRETS_PROVIDER: 'env' }, envFile: false })).toEqual({});
    writeFileSync(path.join(dir, 'WARDEN_SECRET_KEY'), 'from-dir');
    const fileEnv = { WARDEN_SECRETS_PROVIDER: 'file', WARDEN_SECRETS_DIR: dir };
    expect(await resolveServiceSecrets({ env: fileEnv, envFile: false })).toEqual({});
    expect(loadSettings({ env: fileEnv, envFile: false, generateDevSecrets: false }).settings.secretKey).toBe('from-dir');
    expect(secretManagerFromEnv({ env: fileEnv, envFile: false }).providerNames).toEqual([`file:${dir}`]);
  });

  it('flags a plain-http Vault address as unsafe outside development', () => {
    const { warnings } = loadSettings({
      env: { WARDEN_ENV: 'staging', WARDEN_SECRET_KEY: TEST_SECRET_KEY, WARDEN_VAULT_ADDR: 'http://vault.internal:8200' },
      envFile: false,
    });
    expect(warnings).toContain('WARDEN_VAULT_ADDR uses plain http: use https so the Vault token and secrets are encrypted in transit');
  });
});
