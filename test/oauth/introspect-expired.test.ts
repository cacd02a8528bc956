/**
 * The verifier accepts a token until exp + WARDEN_CLOCK_SKEW, for tokens checked on another
 * host's clock. Introspection answers on the issuer's own clock, and RFC 7662 §4 has the
 * server decide expiry: a token past its exp is inactive.
 */
import { afterEach, expect, it } from 'vitest';
import { identityOf } from '../../src/identity/identity-service.js';
import { ClientTokenIssuer } from '../../src/oauth/client-token-issuer.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { basic, FORM, seedClient } from './oauth-helpers.js';

describeEachDatabase('introspection of a token past its exp', (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  it('answers {active:false} for a token whose exp passed 10 s ago, though verifiers elsewhere still allow it the clock skew', async () => {
    t = await createTestApp({ dialect });
    const c = await seedClient(t, ['tokens:introspect', 'keys:read']);
    const issuer = new ClientTokenIssuer({
      keys: identityOf(t.context).keys,
      issuer: t.settings.jwtIssuer,
      audience: t.settings.jwtAudience,
      ttlSeconds: 60,
      now: () => Date.now() - 70_000, // exp = now - 10 s
    });
    const expired = await issuer.issue(c.clientId, ['keys:read']);
    expect(expired.expiresAt * 1000).toBeLessThan(Date.now());
    const response = await t.app.inject({
      method: 'POST',
      url: '/oauth/introspect',
      headers: { ...FORM, authorization: basic(c.clientId, c.secret) },
      payload: new URLSearchParams({ token: expired.token }).toString(),
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ active: false });
  });
});
