import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAwsProvider } from '../../src/secrets/aws-provider.js';
import { SecretManager } from '../../src/secrets/secret-manager.js';
import { SecretNotFoundError, SecretProviderError } from '../../src/secrets/secret-provider.js';

const haveMoto = spawnSync('moto_server', ['--help'], { encoding: 'utf8' }).status === 0;
if (!haveMoto) console.warn('SKIPPING AWS Secrets Manager tests: moto_server (moto\'s AWS emulator) is not installed');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitUntilUp(url: string): Promise<void> {
  for (let attempt = 0; attempt < 150; attempt += 1) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('moto_server did not start');
}

describe.skipIf(!haveMoto)('AWS Secrets Manager provider (against moto_server)', () => {
  let moto: ChildProcess;
  let endpoint: string;
  beforeAll(async () => {
    const port = await freePort();
    endpoint = `http://127.0.0.1:${port}`;
    moto = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    await waitUntilUp(endpoint);
    // Credentials come from the SDK's standard chain: here, the environment.
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'testing');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'testing');
    vi.stubEnv('AWS_SESSION_TOKEN', 'testing');
  }, 30_000);
  afterAll(() => {
    vi.unstubAllEnvs();
    moto?.kill('SIGTERM');
  });

  it('creates, reads, updates and lists secrets under the prefix; JSON key paths work', async () => {
    const prefix = `warden-${Math.random().toString(36).slice(2)}/`;
    const provider = createAwsProvider({ region: 'eu-west-1', endpoint, prefix });
    const manager = new SecretManager(provider, { cacheTtlMs: 0 });
    try {
      await expect(manager.get('MISSING')).rejects.toThrow(SecretNotFoundError);
      await manager.set('WARDEN_SECRET_KEY', 'first');
      expect(await manager.get('WARDEN_SECRET_KEY')).toBe('first');
      await manager.set('WARDEN_SECRET_KEY', 'rotated');
      expect(await manager.get('WARDEN_SECRET_KEY')).toBe('rotated');
      await manager.set('DB', JSON.stringify({ username: 'app', password: 'pw' }));
      expect(await manager.get('DB#password')).toBe('pw');
      expect(await manager.list('')).toEqual(['DB', 'WARDEN_SECRET_KEY']);
      expect(await manager.list('WARDEN_')).toEqual(['WARDEN_SECRET_KEY']);
    } finally {
      provider.close();
    }
  });
});

describe('AWS provider against an endpoint that never answers', () => {
  it('fails with a provider error after the request timeout instead of hanging', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'testing');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'testing');
    const provider = createAwsProvider({ region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, timeoutMs: 200 });
    try {
      // Without the request timeout this never settles, and the test's own timeout fails it.
      await expect(provider.get('K')).rejects.toThrow(SecretProviderError);
    } finally {
      provider.close();
      vi.unstubAllEnvs();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  }, 15_000);
});

describe('AWS provider against an endpoint that answers and then misbehaves', () => {
  const serve = async (handler: http.RequestListener): Promise<{ endpoint: string; close: () => Promise<void> }> => {
    const server = http.createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => {
        server.closeAllConnections();
        return new Promise((resolve) => server.close(() => resolve()));
      },
    };
  };
  beforeEach(() => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'testing');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'testing');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  // 200, the headers and half of the body, then nothing: the SDK's requestTimeout ends with the headers.
  const stallAfterHalfTheBody: http.RequestListener = (_req, res) => {
    const body = JSON.stringify({ ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:warden/K', Name: 'warden/K', SecretString: 'half-sent-value' });
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': String(Buffer.byteLength(body)) });
    res.write(body.slice(0, body.length / 2));
  };

  it('fails with an "unavailable" provider error when the body stalls after the headers', async () => {
    const server = await serve(stallAfterHalfTheBody);
    const provider = createAwsProvider({ region: 'us-east-1', endpoint: server.endpoint, timeoutMs: 300 });
    try {
      // Without the per-call deadline this never settles, and the test's own timeout fails it.
      const error = await provider.get('K').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SecretProviderError);
      expect((error as SecretProviderError).message).toBe('secret provider aws: reading K failed (no complete answer within 300 ms)');
      expect((error as SecretProviderError).unavailable).toBe(true);
    } finally {
      provider.close();
      await server.close();
    }
  }, 15_000);

  it('bounds the call even with an injected client that has no timeouts at all', async () => {
    const server = await serve(stallAfterHalfTheBody);
    const client = new SecretsManagerClient({ region: 'us-east-1', endpoint: server.endpoint });
    const provider = createAwsProvider({ region: 'us-east-1', client, timeoutMs: 300 });
    try {
      await expect(provider.get('K')).rejects.toThrow(SecretProviderError);
    } finally {
      client.destroy();
      await server.close();
    }
  }, 15_000);

  it('refuses a response body larger than 4 MiB without reading it all, and does not retry', async () => {
    let requests = 0;
    const server = await serve((_req, res) => {
      requests += 1;
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      // A well-formed 8 MiB answer, sent in 64 KiB chunks: without the bound get() would return it.
      res.write('{"Name":"warden/K","SecretString":"');
      let sent = 0;
      const chunk = 'x'.repeat(64 * 1024);
      const timer = setInterval(() => {
        if (sent >= 8 * 1024 * 1024) {
          clearInterval(timer);
          res.end('"}');
          return;
        }
        sent += chunk.length;
        res.write(chunk);
      }, 1);
      res.on('close', () => clearInterval(timer));
    });
    const provider = createAwsProvider({ region: 'us-east-1', endpoint: server.endpoint, timeoutMs: 10_000 });
    try {
      const error = await provider.get('K').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SecretProviderError);
      expect((error as SecretProviderError).message).toBe('secret provider aws: reading K failed (response larger than 4194304 bytes)');
      expect((error as SecretProviderError).unavailable).toBe(false);
      expect(requests).toBe(1);
    } finally {
      provider.close();
      await server.close();
    }
  }, 15_000);
});
