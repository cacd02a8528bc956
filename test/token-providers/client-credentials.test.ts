import { afterEach, describe, expect, it } from 'vitest';
import { clientCredentials, TokenEndpointError } from '../../src/token-providers/index.js';
import { startFakeTokenEndpoint, type FakeTokenEndpoint } from './fake-token-endpoint.js';

let endpoint: FakeTokenEndpoint;
afterEach(async () => {
  await endpoint.close();
});

const CLIENT = { clientId: 'svc-a', clientSecret: 's3cret: with spaces & symbols' };

describe('clientCredentials', () => {
  it('authenticates with HTTP Basic by default (form-encoded per RFC 6749 §2.3.1) and reads expires_in', async () => {
    endpoint = await startFakeTokenEndpoint({ ...CLIENT, expiresIn: 120 });
    const source = clientCredentials({ tokenUrl: endpoint.url, ...CLIENT, scopes: ['keys:read', 'users:read'], now: () => 1_000_000 });
    const token = await source();
    expect(token).toEqual({ value: 'token-1', expiresAt: 1_000_000 + 120_000 });
    expect(endpoint.lastRequest?.authorization).toMatch(/^Basic /);
    expect(endpoint.lastRequest?.form.get('scope')).toBe('keys:read users:read');
    expect(endpoint.lastRequest?.form.get('client_secret')).toBeNull();
  });

  it('authenticates with form fields when asked (client_secret_post)', async () => {
    endpoint = await startFakeTokenEndpoint(CLIENT);
    await clientCredentials({ tokenUrl: endpoint.url, ...CLIENT, authMethod: 'client_secret_post' })();
    expect(endpoint.lastRequest?.authorization).toBeUndefined();
    expect(endpoint.lastRequest?.form.get('client_id')).toBe('svc-a');
  });

  it('raises a typed, non-retryable error for invalid_client, without the secret in the message', async () => {
    endpoint = await startFakeTokenEndpoint(CLIENT);
    const error = await clientCredentials({ tokenUrl: endpoint.url, clientId: 'svc-a', clientSecret: 'wrong-secret' })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenEndpointError);
    expect(error).toMatchObject({ status: 401, error: 'invalid_client', retryable: false });
    expect(String((error as Error).message)).not.toContain('wrong-secret');
  });

  it('treats 5xx and network failures as retryable', async () => {
    endpoint = await startFakeTokenEndpoint(CLIENT);
    endpoint.failNext(1, 503);
    await expect(clientCredentials({ tokenUrl: endpoint.url, ...CLIENT })()).rejects.toMatchObject({ status: 503, retryable: true });
    await expect(clientCredentials({ tokenUrl: 'http://127.0.0.1:1/token', ...CLIENT, timeoutMs: 1000 })()).rejects.toMatchObject({
      status: 0,
      error: 'network_error',
      retryable: true,
    });
  });
});
