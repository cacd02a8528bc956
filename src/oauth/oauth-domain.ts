import { identityOf } from '../identity/identity-service.js';
import { LoginThrottle } from '../identity/login-throttle.js';
import type { AppContext } from '../server/app-context.js';
import { ClientSecretHasher } from './client-secret.js';
import { ClientTokenIssuer } from './client-token-issuer.js';
import { OAuthClientService } from './oauth-client-service.js';

/** The OAuth 2.0 server side: clients, their token issuer, and the failure throttle. */
export interface OAuthServer {
  readonly clients: OAuthClientService;
  /** Created on first use: identity's signing keys must be initialised first. */
  tokens(): ClientTokenIssuer;
  /** Failed client authentications per client IP, in the login throttle's IP tier. */
  readonly throttle: LoginThrottle;
}

const servers = new WeakMap<AppContext, OAuthServer>();

/** The OAuth server built for a context. */
export function oauthOf(context: AppContext): OAuthServer {
  const server = servers.get(context);
  if (server === undefined) throw new Error('createOAuthServer(context) has not been called for this context');
  return server;
}

/** Builds the OAuth domain on a context (after identity and authz). */
export function createOAuthServer(context: AppContext, options: { now?: () => number } = {}): OAuthServer {
  const now = options.now ?? Date.now;
  const { settings } = context;
  if (settings.secretKey === undefined) throw new TypeError('settings.secretKey must be set before OAuth is created');
  const clients = new OAuthClientService({
    db: context.storage.db,
    hasher: new ClientSecretHasher(settings.secretKey),
    audit: () => context.audit,
    invalidation: context.invalidation,
    ownerPermissions: async (ownerId) => (await context.authz?.effectivePermissions(ownerId)) ?? [],
    now,
    onAnnounceError: (error) =>
      context.logger.error({ err: error }, 'OAuth client revocation not announced to other instances; they stop honouring the client within the status cache bound'),
  });
  let issuer: ClientTokenIssuer | undefined;
  const server: OAuthServer = {
    clients,
    tokens: () =>
      (issuer ??= new ClientTokenIssuer({
        keys: identityOf(context).keys,
        issuer: settings.jwtIssuer,
        audience: settings.jwtAudience,
        ttlSeconds: settings.accessTokenTtlSeconds,
        now,
      })),
    // Only the IP tier is used for clients (oauth-routes.ts says why); it is shared with logins
    // on purpose, so an address spraying secrets and passwords is counted once.
    throttle: new LoginThrottle(context.rateLimits, {
      maxFailuresPerAccount: settings.loginMaxFailuresPerAccount,
      maxFailuresPerIp: settings.loginMaxFailuresPerIp,
      lockoutMs: settings.loginLockoutMs,
    }),
  };
  identityOf(context).registerClientStatus((clientId) => clients.isActive(clientId));
  // A revoked client's tokens are dead for good; the others must not outlive a deactivation of
  // their owner by a later reactivation (identity writes a marker for each of these).
  identityOf(context).registerOwnedClients(async (ownerId) => {
    const rows = await context.storage.db.selectFrom('oauth_clients').select('id').where('owner_id', '=', ownerId).where('revoked_at', 'is', null).execute();
    return rows.map((row) => row.id);
  });
  servers.set(context, server);
  return server;
}
