import net, { type AddressInfo } from 'node:net';
import * as client from 'openid-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { seedClient } from './oauth-helpers.js';

/** A free loopback port, so that the issuer URL (which must equal the tokens' iss) is known before listening. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let t: TestApp;
afterEach(async () => {
  await t.close();
});

describe('conformance with openid-client (a widely used third-party OAuth 2.0 client)', () => {
  it('discovers the RFC 8414 metadata, gets a token, introspects and revokes it', async () => {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    t = await createTestApp({ env: { WARDEN_JWT_ISSUER: issuer } });
    const c = await seedClient(t, ['keys:read', 'tokens:introspect']);
    await t.app.listen({ port, host: '127.0.0.1' });

    for (const auth of [client.ClientSecretBasic(c.secret), client.ClientSecretPost(c.secret)]) {
      const config = await client.discovery(new URL(issuer), c.clientId, undefined, auth, {
        algorithm: 'oauth2',
        execute: [client.allowInsecureRequests],
      });
      expect(config.serverMetadata().issuer).toBe(issuer);
      expect(config.serverMetadata().token_endpoint).toBe(`${issuer}/oauth/token`);
      // Only for JWT client authentication, which is not offered.
      expect(config.serverMetadata()).not.toHaveProperty('token_endpoint_auth_signing_alg_values_supported');

      const tokens = await client.clientCredentialsGrant(config, { scope: 'keys:read' });
      expect(tokens.token_type.toLowerCase()).toBe('bearer');
      expect(tokens.scope).toBe('keys:read');
      expect(tokens.expiresIn()).toBeGreaterThan(0);

      const active = await client.tokenIntrospection(config, tokens.access_token);
      expect(active).toMatchObject({ active: true, client_id: c.clientId, sub: c.clientId, scope: 'keys:read', iss: issuer });

      await client.tokenRevocation(config, tokens.access_token);
      expect(await client.tokenIntrospection(config, tokens.access_token)).toEqual({ active: false });
    }
  });

  it('surfaces RFC 6749 errors through the client library', async () => {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    t = await createTestApp({ env: { WARDEN_JWT_ISSUER: issuer } });
    const c = await seedClient(t, ['keys:read']);
    await t.app.listen({ port, host: '127.0.0.1' });
    const config = await client.discovery(new URL(issuer), c.clientId, undefined, client.ClientSecretBasic(c.secret), {
      algorithm: 'oauth2',
      execute: [client.allowInsecureRequests],
    });
    await expect(client.clientCredentialsGrant(config, { scope: 'keys:write' })).rejects.toMatchObject({ error: 'invalid_scope' });
    const wrong = await client.discovery(new URL(issuer), c.clientId, undefined, client.ClientSecretBasic('wcs_wrong'), {
      algorithm: 'oauth2',
      execute: [client.allowInsecureRequests],
    });
    // A 401 with WWW-Authenticate surfaces as the library's challenge error, carrying our Basic challenge.
    const failure = await client.clientCredentialsGrant(wrong).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(client.WWWAuthenticateChallengeError);
    expect(failure).toMatchObject({ status: 401 });
    expect((failure as client.WWWAuthenticateChallengeError).cause[0]?.scheme).toBe('basic');
  });
});
