import { expect, it } from 'vitest';
import { AccessTokenIssuer } from '../../src/identity/access-token-issuer.js';
import { identityOf } from '../../src/identity/identity-service.js';
import { ClientTokenIssuer } from '../../src/oauth/client-token-issuer.js';
import { oauthOf } from '../../src/oauth/oauth-domain.js';
import { describeWithRedis } from '../helpers/redis.js';
import { useTwoInstances } from '../helpers/two-instances.js';
import { login, seedUser } from './identity-helpers.js';

/**
 * Instance B's clock runs 5 s ahead of instance A's (inside WARDEN_CLOCK_SKEW, 30 s, which the
 * verifier tolerates for exactly this); B's issuers are the production classes on B's own
 * signing-key ring, given B's clock. As logout-all's per-session markers do, an owner's
 * deactivation and a demotion done on A deny the tokens B issued before them, whatever B's
 * clock stamped: client tokens by a marker reaching one skew ahead, admin tokens because the
 * verifier refuses an "admin" token of a user who is no longer one.
 */
const B_CLOCK_AHEAD_MS = 5_000;
const SYSTEM = { actor: 'system', ip: undefined, userAgent: undefined };

describeWithRedis('revocation markers against tokens issued by an instance whose clock runs ahead', () => {
  const instances = useTwoInstances();

  it("an OAuth client token issued on B stays refused after its owner's deactivation and reactivation on A (docs/oauth.md)", async () => {
    const { first, second } = instances;
    const a = identityOf(first.context);
    const settings = first.settings;
    const owner = await seedUser(first, { isAdmin: true });
    const { client } = await oauthOf(first.context).clients.create(
      { name: 'svc', ownerId: owner.id, scopes: ['users:read'] },
      { actor: 'system' },
    );
    const issuerOn = (keys: typeof second.keys, now: () => number): ClientTokenIssuer =>
      new ClientTokenIssuer({
        keys,
        issuer: settings.jwtIssuer,
        audience: settings.jwtAudience,
        ttlSeconds: settings.accessTokenTtlSeconds,
        now,
      });
    // Both issued before the deactivation: one by A, one by B (whose clock reads 5 s later).
    const fromA = (await issuerOn(a.keys, Date.now).issue(client.client_id, ['users:read'])).token;
    const fromB = (
      await issuerOn(second.keys, () => Date.now() + B_CLOCK_AHEAD_MS).issue(client.client_id, ['users:read'])
    ).token;
    expect((await a.verifier.verify(fromA)).valid).toBe(true);
    expect((await a.verifier.verify(fromB)).valid).toBe(true);

    await a.userAdmin.update(owner.id, { isActive: false }, SYSTEM);
    await a.userAdmin.update(owner.id, { isActive: true }, SYSTEM);

    // "Those tokens stay refused after the owner is reactivated."
    expect(await a.verifier.verify(fromA)).toEqual({ valid: false, code: 'token_revoked' });
    expect(await a.verifier.verify(fromB)).toEqual({ valid: false, code: 'token_revoked' });
  });

  it('an admin access token issued on B (a refresh) before a demotion on A is revoked by the demotion, as the one issued on A is (docs/identity.md)', async () => {
    const { first, second } = instances;
    const a = identityOf(first.context);
    const settings = first.settings;
    const admin = await seedUser(first, { isAdmin: true });
    const fromA = (await login(first.app, admin.email)).access_token;
    const sid = (
      JSON.parse(Buffer.from(fromA.split('.')[1] ?? '', 'base64url').toString()) as { sid: string }
    ).sid;
    // What B's refresh of that session issues: the same session, roles ["admin"], B's clock.
    const issuerOnB = new AccessTokenIssuer({
      keys: second.keys,
      issuer: settings.jwtIssuer,
      audience: settings.jwtAudience,
      ttlSeconds: settings.accessTokenTtlSeconds,
      now: () => Date.now() + B_CLOCK_AHEAD_MS,
    });
    const fromB = (await issuerOnB.issue({ userId: admin.id, sessionId: sid, roles: ['admin'] })).token;
    expect((await a.verifier.verify(fromA)).valid).toBe(true);
    expect((await a.verifier.verify(fromB)).valid).toBe(true);

    await a.userAdmin.update(admin.id, { isAdmin: false }, SYSTEM);

    // "clearing is_admin also revokes every access token issued to the user until then": both
    // carry roles ["admin"], which a JWKS-only service reads as *:*, and /oauth/introspect answers
    // from this verifier.
    expect(await a.verifier.verify(fromA)).toEqual({ valid: false, code: 'token_revoked' });
    expect(await a.verifier.verify(fromB)).toEqual({ valid: false, code: 'token_revoked' });
  });
});
