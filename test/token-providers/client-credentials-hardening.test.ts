import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { clientCredentials, TokenEndpointError } from '../../src/token-providers/index.js';

const CLIENT = { clientId: 'svc-a', clientSecret: 'cs-7Hq2ZbK9pLmN4xV1' };
const answering = (status: number, body: object): typeof fetch => async () => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('clientCredentials hardening', () => {
  it('reads a numeric-string expires_in instead of caching the token forever', async () => {
    const source = clientCredentials({ tokenUrl: 'https://auth.example/token', ...CLIENT, now: () => 1_000_000, fetch: answering(200, { access_token: 't', token_type: 'Bearer', expires_in: '3599' }) });
    expect(await source()).toEqual({ value: 't', expiresAt: 1_000_000 + 3_599_000 });
  });

  it('refuses a plain-http token endpoint other than loopback, and credentials in the URL', () => {
    expect(() => clientCredentials({ tokenUrl: 'http://auth.example/token', ...CLIENT })).toThrow(/https/);
    expect(() => clientCredentials({ tokenUrl: 'https://u:p@auth.example/token', ...CLIENT })).toThrow(/credentials/);
    expect(() => clientCredentials({ tokenUrl: 'not a url', ...CLIENT })).toThrow(TypeError);
    expect(() => clientCredentials({ tokenUrl: 'http://127.0.0.1:8080/token', ...CLIENT })).not.toThrow();
    expect(() => clientCredentials({ tokenUrl: 'http://localhost/token', ...CLIENT })).not.toThrow();
  });

  it('keeps the client secret out of the error when the server echoes it', async () => {
    const source = clientCredentials({
      tokenUrl: 'https://auth.example/token',
      ...CLIENT,
      fetch: answering(401, { error: 'invalid_client', error_description: `unknown secret ${CLIENT.clientSecret}` }),
    });
    const error = await source().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenEndpointError);
    expect((error as TokenEndpointError).message).not.toContain(CLIENT.clientSecret);
    expect((error as TokenEndpointError).errorDescription).toBe('unknown secret [REDACTED]');
  });

  it('says the endpoint was not reached, not that it answered, on a network failure', async () => {
    const source = clientCredentials({ tokenUrl: 'https://auth.example/token', ...CLIENT, fetch: async () => Promise.reject(new TypeError('fetch failed')) });
    const error = await source().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenEndpointError);
    expect(error).toMatchObject({ status: 0, error: 'network_error', errorDescription: 'unreachable', retryable: true });
    expect((error as TokenEndpointError).message).toBe('no answer from the token endpoint: network_error: unreachable');
  });

  it('does not follow a redirect that would re-send the client secret elsewhere', async () => {
    const received: string[] = [];
    const other = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(body);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'stolen', token_type: 'Bearer' }));
      });
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const redirector = http.createServer((req, res) => {
      req.resume();
      res.writeHead(307, { location: `http://localhost:${(other.address() as AddressInfo).port}/collect` }).end();
    });
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
    try {
      const source = clientCredentials({ tokenUrl: `http://127.0.0.1:${(redirector.address() as AddressInfo).port}/token`, ...CLIENT, authMethod: 'client_secret_post' });
      await expect(source()).rejects.toBeInstanceOf(TokenEndpointError);
      expect(received).toEqual([]);
    } finally {
      await new Promise((resolve) => other.close(resolve));
      await new Promise((resolve) => redirector.close(resolve));
    }
  });
});
