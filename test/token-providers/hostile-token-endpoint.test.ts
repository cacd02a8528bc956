/**
 * clientCredentials against a token endpoint that echoes what it was sent, answers with too
 * much, too slowly, or with a lifetime of zero or less.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { clientCredentials, RotatingToken, TokenEndpointError } from '../../src/token-providers/index.js';

// A secret as other providers issue them (base64 alphabet): `+`, `/` and `=` are form-encoded on the wire.
const CLIENT = { clientId: 'svc-a', clientSecret: 'Zm9v+YmFy/cXV4=s3cr3t-value' };
const answering =
  (status: number, body: string | object, onCall?: () => void): typeof fetch =>
  async () => {
    onCall?.();
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  };

async function failure(source: () => Promise<unknown>): Promise<TokenEndpointError> {
  const error = await source().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(TokenEndpointError);
  return error as TokenEndpointError;
}

describe('clientCredentials keeps the secret out of errors', () => {
  // A server that echoes its input in `error` would put the secret into the caller's logs.
  it('redacts (and bounds) the `error` code too, not only error_description', async () => {
    const source = clientCredentials({
      tokenUrl: 'https://auth.example/token',
      ...CLIENT,
      fetch: answering(401, { error: `invalid_client(${CLIENT.clientSecret})\n${'x'.repeat(500)}` }),
    });
    const error = await failure(source);
    expect(error.message).not.toContain(CLIENT.clientSecret);
    expect(error.error).toBe(`invalid_client([REDACTED])?${'x'.repeat(64 - 'invalid_client([REDACTED])?'.length)}`);
  });

  // What is sent is the form-encoded secret (client_secret_post) or base64(id:secret)
  // (client_secret_basic); an echo of either is the secret in a reversible form.
  it('redacts the secret in the forms it was sent in (form-encoded body, Basic header)', async () => {
    const formEncoded = new URLSearchParams({ client_secret: CLIENT.clientSecret }).toString();
    const postSource = clientCredentials({
      tokenUrl: 'https://auth.example/token',
      ...CLIENT,
      authMethod: 'client_secret_post',
      fetch: answering(400, { error: 'invalid_request', error_description: `could not parse ${formEncoded}` }),
    });
    expect((await failure(postSource)).message).not.toContain(formEncoded);

    const basicValue = Buffer.from(`${CLIENT.clientId}:${encodeURIComponent(CLIENT.clientSecret)}`).toString('base64');
    const basicSource = clientCredentials({
      tokenUrl: 'https://auth.example/token',
      ...CLIENT,
      fetch: answering(401, { error: 'invalid_client', error_description: `bad header Basic ${basicValue}` }),
    });
    expect((await failure(basicSource)).message).not.toContain(basicValue);
  });
});

describe('clientCredentials against a hostile or broken token endpoint', () => {
  // Real token responses are a few KB; whatever answers at the endpoint's address must not make
  // every caller buffer (and then cache) hundreds of MB.
  it('refuses an oversized token response instead of buffering it', async () => {
    const huge = JSON.stringify({ access_token: 'A'.repeat(32 * 1024 * 1024), token_type: 'Bearer', expires_in: 300 });
    const source = clientCredentials({ tokenUrl: 'https://auth.example/token', ...CLIENT, fetch: answering(200, huge) });
    const outcome = await source().then(
      (issued) => ({ ok: true as const, length: issued.value.length }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    expect(outcome).toMatchObject({ ok: false, error: { error: 'invalid_response', retryable: false } });
  });

  // The timeout covers the body too; a stalled body is a network failure, which a retry can
  // heal, not a malformed (non-retryable) response.
  it('reports a body that times out as a retryable network error', async () => {
    const server = http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"access_token":"partial'); // and never finishes
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const source = clientCredentials({ tokenUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`, ...CLIENT, timeoutMs: 300 });
      const error = await failure(source);
      expect(error.retryable).toBe(true);
      expect(error.error).toBe('network_error');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  // A lifetime of zero or less means expired now, never "no expiry" (cached forever). Warden's
  // own token endpoint sends expires_in 0 for a client whose expires_at falls within the second.
  it.each([0, -30, '0', '-30'])('does not cache forever a token with expires_in %j', async (expiresIn) => {
    let calls = 0;
    const source = clientCredentials({
      tokenUrl: 'https://auth.example/token',
      ...CLIENT,
      fetch: answering(200, { access_token: 'expired-token', token_type: 'Bearer', expires_in: expiresIn }, () => (calls += 1)),
    });
    const token = new RotatingToken(source);
    await token.getToken().catch(() => undefined);
    await token.getToken().catch(() => undefined);
    expect(calls).toBe(2);
  });
});
