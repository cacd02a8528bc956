import type { ApiKeys } from '../../src/apikeys/api-keys-domain.js';
import type { Principal } from '../../src/http/principal.js';
import { identityOf } from '../../src/identity/identity-service.js';
import type { User } from '../../src/identity/user-store.js';
import { oauthOf } from '../../src/oauth/oauth-domain.js';
import type { TestApp } from '../helpers/app.js';
import { login, seedUser } from '../identity/identity-helpers.js';
import { basic, FORM } from '../oauth/oauth-helpers.js';

const ROOT = {
  principal: {
    kind: 'client',
    subject: 'system',
    permissions: ['*:*'],
    credentialId: 'test',
  } satisfies Principal,
  auditActor: 'system',
};

/** A rate-limit check no test exhausts. */
export const RL = { identifier: 'hot', limit: 1_000_000, window_ms: 60_000, namespace: 'hot-paths' };

export interface Seeded {
  readonly admin: User;
  readonly user: User;
  readonly userToken: string;
  readonly adminToken: string;
  readonly restrictedAdminToken: string;
  readonly restrictedUserToken: string;
  readonly key: string;
  readonly gatewayKey: string;
  readonly client: { readonly id: string; readonly secret: string; readonly authorization: string };
  readonly clientToken: string;
}

/**
 * A plain user holding a role with ratelimit:check, authz:read and keys:verify (also in scope
 * org-a), an admin, login and restricted tokens of both, an API key of the user carrying those
 * permissions, a gateway key of the admin, and an OAuth client (tokens:introspect,
 * ratelimit:check) of the admin with a client-credentials token.
 */
export async function seed(t: TestApp): Promise<Seeded> {
  const identity = identityOf(t.context);
  await identity.initialise();
  const admin = await seedUser(t, { isAdmin: true });
  const user = await seedUser(t);
  const authz = t.context.authz;
  if (authz === undefined) throw new Error('authz is not wired');
  await authz.createRole(ROOT, {
    name: 'probe',
    permissions: ['ratelimit:check', 'authz:read', 'keys:verify'],
  });
  await authz.assignRole(ROOT, { userId: user.id, role: 'probe' });
  await authz.assignRole(ROOT, { userId: user.id, role: 'probe', scope: 'org-a' });
  const userToken = (await login(t.app, user.email)).access_token;
  const adminToken = (await login(t.app, admin.email)).access_token;
  // A login token restricted to ratelimit:check, on a session of its own.
  const restrictedToken = async (userId: string): Promise<string> => {
    const session = await identity.sessions.create(userId, { ip: '192.0.2.1', userAgent: 'hot-paths' });
    return (await identity.issuer.issue({ userId, sessionId: session.sessionId, scope: ['ratelimit:check'] }))
      .token;
  };
  const restrictedAdminToken = await restrictedToken(admin.id);
  const restrictedUserToken = await restrictedToken(user.id);
  const apiKeys = t.context.apiKeys as ApiKeys;
  const key = (
    await apiKeys.service.create(
      { name: 'k', ownerId: user.id, permissions: ['ratelimit:check', 'keys:verify', 'authz:read'] },
      { actor: 'system' },
    )
  ).key;
  const gatewayKey = (
    await apiKeys.service.create(
      { name: 'gw', ownerId: admin.id, permissions: ['keys:verify'] },
      { actor: 'system' },
    )
  ).key;
  const { client, secret } = await oauthOf(t.context).clients.create(
    { name: 'rs', ownerId: admin.id, scopes: ['tokens:introspect', 'ratelimit:check'], expiresAt: null },
    { actor: 'system' },
  );
  const authorization = basic(client.client_id, secret);
  const tokenRes = await t.app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { ...FORM, authorization },
    payload: 'grant_type=client_credentials',
  });
  if (tokenRes.statusCode !== 200) throw new Error(`client token: ${tokenRes.statusCode} ${tokenRes.body}`);
  const clientToken = (tokenRes.json() as { access_token: string }).access_token;
  return {
    admin,
    user,
    userToken,
    adminToken,
    restrictedAdminToken,
    restrictedUserToken,
    key,
    gatewayKey,
    client: { id: client.client_id, secret, authorization },
    clientToken,
  };
}
