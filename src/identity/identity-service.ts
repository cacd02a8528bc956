import { availableParallelism } from 'node:os';
import type { FastifyRequest } from 'fastify';
import { messageOf, WardenError } from '../errors/index.js';
import { defaultHashConcurrency } from './hash-semaphore.js';
import type { Authenticator } from '../http/auth-guard.js';
import { bearerToken } from '../http/auth-guard.js';
import type { Principal } from '../http/principal.js';
import type { AppContext } from '../server/app-context.js';
import { AccessTokenIssuer } from './access-token-issuer.js';
import { AccessTokenVerifier } from './access-token-verifier.js';
import { AuthService } from './auth-service.js';
import { LoginThrottle } from './login-throttle.js';
import { PasswordService } from './password-service.js';
import { PrivateKeySealer } from './private-key-sealing.js';
import { DatabaseBackedRevocationList, RedisRevocationList, type RevocationList } from './revocation-list.js';
import { RevocationRows } from './revocation-rows.js';
import { SessionStore } from './session-store.js';
import { SigningKeyRing } from './signing-key-ring.js';
import type { AccessTokenClaims } from './token-checks.js';
import { UserAdmin } from './user-admin.js';
import { UserStatusCache } from './user-status-cache.js';
import { UserStore } from './user-store.js';
import { outageLog } from '../server/outage-log.js';

/** Everything the identity domain offers the routes, the CLI and other domains. */
export interface IdentityService {
  readonly users: UserStore;
  readonly userAdmin: UserAdmin;
  readonly passwords: PasswordService;
  readonly sessions: SessionStore;
  readonly keys: SigningKeyRing;
  readonly issuer: AccessTokenIssuer;
  readonly verifier: AccessTokenVerifier;
  readonly revocations: RevocationList;
  readonly userStatus: UserStatusCache;
  readonly auth: AuthService;
  /** The profile the service runs in (development-only helpers check it themselves). */
  readonly environment: AppContext['settings']['env'];
  /** The JWT authenticator (already pushed onto context.authenticators). */
  readonly authenticator: Authenticator;
  /** Claims of the access token that authenticated a request (logout needs jti, exp, sid). */
  claimsOf(request: FastifyRequest): AccessTokenClaims | undefined;
  /** Lets the OAuth domain decide whether a client's tokens are still honoured (revoked/expired clients). */
  registerClientStatus(check: (clientId: string) => Promise<boolean>): void;
  /** Lets the OAuth domain name a user's clients, whose tokens end when the user is deactivated. */
  registerOwnedClients(list: (ownerId: string) => Promise<readonly string[]>): void;
  /** Loads keys (creating the first one) and the denylist; idempotent. Needs a migrated database. */
  /** Loads the signing keys (creating the first unless `createIfMissing` is false) and the revocations. */
  initialise(options?: { readonly createIfMissing?: boolean }): Promise<void>;
}

const services = new WeakMap<AppContext, IdentityService>();
/** How long an expired session's row is kept before the hourly sweep deletes it. */
const EXPIRED_SESSION_KEEP_MS = 7 * 86_400_000;
/** How often each instance re-reads the signing keys, besides the announcements of rotations. */
const SIGNING_KEY_RELOAD_MS = 30_000;

/** The grantor of default roles: the service itself, like the CLI's system actor. */
const DEFAULT_ROLE_GRANTOR: Principal = { kind: 'client', subject: 'system', permissions: ['*:*'], credentialId: 'default-roles' };

/** The identity service created for a context (routes and the CLI find it here). */
export function identityOf(context: AppContext): IdentityService {
  const service = services.get(context);
  if (service === undefined) throw new Error('createIdentityService(context) has not been called for this context');
  return service;
}

/** Builds the identity domain from the context, registers its authenticator and shutdown hook. */
export function createIdentityService(context: AppContext, options: { now?: () => number } = {}): IdentityService {
  const now = options.now ?? Date.now;
  const { settings, storage } = context;
  const db = storage.db;
  const secretKey = settings.secretKey;
  if (secretKey === undefined) throw new TypeError('settings.secretKey must be set before identity is created');
  const accessTokenLifetimeMs = (settings.accessTokenTtlSeconds + settings.clockSkewSeconds) * 1000;
  const users = new UserStore(db, context.fieldCipher, now);
  const passwords = new PasswordService({
    argon2: { memoryKib: settings.argon2MemoryKib, iterations: settings.argon2Iterations, parallelism: settings.argon2Parallelism },
    policy: { minLength: settings.passwordMinLength, maxBytes: 1024 },
    concurrency: settings.passwordHashConcurrency ?? defaultHashConcurrency(availableParallelism(), Number(process.env.UV_THREADPOOL_SIZE ?? 4)),
    queueTimeoutMs: settings.passwordHashQueueTimeoutMs,
  });
  const sessions = new SessionStore(db, secretKey, {
    ttlMs: settings.refreshTokenTtlSeconds * 1000,
    now,
    reuseLeewayMs: settings.refreshReuseLeewayMs,
    reuseRepeatWindowMs: accessTokenLifetimeMs,
  });
  const keys = new SigningKeyRing({
    db,
    sealer: new PrivateKeySealer(context.fieldCipher, secretKey),
    algorithm: settings.jwtAlgorithm,
    // A token's lifetime, plus the reload interval: an instance that missed the announcement
    // signs with the superseded key until its next reload, and those tokens must live out their exp.
    retireGraceMs: accessTokenLifetimeMs + SIGNING_KEY_RELOAD_MS,
    reloadIntervalMs: SIGNING_KEY_RELOAD_MS,
    now,
    onUnreadableKey: (kid, error) =>
      context.logger.error(
        { kid, err: { message: messageOf(error) } },
        'signing key cannot be unsealed with this instance’s secrets; its tokens are refused here (check WARDEN_SECRET_KEY / WARDEN_ENCRYPTION_KEY)',
      ),
    invalidation: context.invalidation,
    onBackgroundError: (error) =>
      context.logger.warn({ err: { message: messageOf(error) } }, 'signing keys could not be reloaded or a rotation announced; the keys in memory stay in use'),
  });
  const databaseRevocations = new DatabaseBackedRevocationList(db, now);
  const revocationWatch = outageLog(context.logger, "could not compare Redis's revocations with the database's (the error says which answered); trying again every second");
  const revocations: RevocationList =
    context.redis === undefined
      ? databaseRevocations
      : new RedisRevocationList(context.redis, settings.redisKeyPrefix, now, new RevocationRows(db), {
          onRedisError: (error) =>
            context.logger.warn({ err: { message: messageOf(error) } }, 'a revocation did not reach Redis; it stands in the database and is copied to Redis when Redis answers'),
          // Either side can be the one down (Redis more often), and the check runs every second:
          // one line per 30 s while it lasts (outage-log.ts), not one per attempt.
          onWatchError: (error) => revocationWatch.failed(error instanceof Error ? error : new Error(messageOf(error))),
        });
  const userStatus = new UserStatusCache(db, context.invalidation, {
    onPublishError: (error, userId) =>
      context.logger.error(
        { err: { message: messageOf(error) }, user_id: userId },
        'user change not announced to other instances; they drop their cached status within the cache TTL (1 s while their own bus is down)',
      ),
  });
  const issuer = new AccessTokenIssuer({ keys, issuer: settings.jwtIssuer, audience: settings.jwtAudience, ttlSeconds: settings.accessTokenTtlSeconds, now });
  const verifier = new AccessTokenVerifier({
    keys,
    revocations,
    users: userStatus,
    algorithm: settings.jwtAlgorithm,
    issuer: settings.jwtIssuer,
    audience: settings.jwtAudience,
    clockSkewSeconds: settings.clockSkewSeconds,
    maxBytes: settings.jwtMaxBytes,
    clientStatus: () => clientStatus,
    now,
  });
  const throttle = new LoginThrottle(context.rateLimits, {
    maxFailuresPerAccount: settings.loginMaxFailuresPerAccount,
    maxFailuresPerIp: settings.loginMaxFailuresPerIp,
    lockoutMs: settings.loginLockoutMs,
  });
  const audit = (): AppContext['audit'] => context.audit;
  const auth = new AuthService({ users, passwords, sessions, issuer, revocations, userStatus, throttle, audit, accessTokenLifetimeMs, now });
  // Least privilege: a new user holds nothing unless WARDEN_DEFAULT_ROLES names roles for them.
  // A role that cannot be assigned (deleted, misspelt) is logged; the user is kept without it.
  // Granted by the service, recorded under whoever created the user: POST /v1/users checks
  // beforehand that its caller holds what the default roles grant (user-routes.ts).
  const afterCreate = async (user: { id: string }, by: { actor: string }): Promise<void> => {
    for (const role of settings.defaultRoles) {
      try {
        await context.authz?.assignRole({ principal: DEFAULT_ROLE_GRANTOR, auditActor: by.actor }, { userId: user.id, role });
      } catch (error) {
        context.logger.error({ err: error, role }, 'could not assign a default role to a new user');
      }
    }
  };
  const userAdmin = new UserAdmin({ users, passwords, userStatus, auth, audit, afterCreate, clientsOwnedBy: () => ownedClients, accessTokenLifetimeMs, clockSkewMs: settings.clockSkewSeconds * 1000, now });

  // Set by the OAuth domain (created after identity) through registerClientStatus / registerOwnedClients.
  let clientStatus: ((clientId: string) => Promise<boolean>) | undefined;
  let ownedClients: ((ownerId: string) => Promise<readonly string[]>) | undefined;
  const claimsByRequest = new WeakMap<FastifyRequest, AccessTokenClaims>();
  const authenticator: Authenticator = async (request) => {
    const token = bearerToken(request);
    // Not ours: no bearer, or a bearer that is not a JWT (an API key such as wdn_live_…).
    if (token === undefined || !(token.startsWith('eyJ') || token.split('.').length === 3)) return undefined;
    const result = await verifier.verify(token);
    if (!result.valid) {
      throw new WardenError(result.code, undefined, { headers: { 'www-authenticate': 'Bearer realm="warden", error="invalid_token"' } });
    }
    const claims = result.claims;
    claimsByRequest.set(request, claims);
    if (claims.clientId !== undefined) {
      // A client-credentials token carries exactly its granted scope.
      return { kind: 'client', subject: claims.clientId, permissions: claims.scope ?? [], credentialId: claims.jti, expiresAt: claims.exp } satisfies Principal;
    }
    const status = result.user ?? (await userStatus.get(claims.sub));
    // A restricted token (scope claim) carries exactly its scope; otherwise an admin holds
    // everything and other users hold nothing here — authz resolves their roles.
    const permissions = claims.scope ?? (status.isAdmin ? ['*:*'] : []);
    const principal: Principal = {
      kind: 'user',
      subject: claims.sub,
      permissions,
      ...(claims.scope === undefined ? {} : { restricted: true }),
      credentialId: claims.jti,
      expiresAt: claims.exp,
    };
    return principal;
  };
  context.authenticators.push(authenticator);

  const sweeper = setInterval(() => {
    void revocations.sweep(now()).catch((error: unknown) => context.logger.warn({ err: error }, 'revocation sweep failed'));
  }, 60_000);
  sweeper.unref();
  // Hourly: a scan of the session tables, which only grow by logins and refreshes.
  const sessionSweeper = setInterval(() => {
    void sessions.deleteExpired(now(), EXPIRED_SESSION_KEEP_MS).catch((error: unknown) => context.logger.warn({ err: { message: messageOf(error) } }, 'session sweep failed'));
  }, 3_600_000);
  sessionSweeper.unref();
  context.onClose.push(() => {
    clearInterval(sweeper);
    clearInterval(sessionSweeper);
    revocations.close?.();
    userStatus.close();
    keys.close();
  });

  let initialised: Promise<void> | undefined;
  const service: IdentityService = {
    users,
    userAdmin,
    passwords,
    sessions,
    keys,
    issuer,
    verifier,
    revocations,
    userStatus,
    auth,
    environment: settings.env,
    authenticator,
    claimsOf: (request) => claimsByRequest.get(request),
    registerClientStatus(check) {
      clientStatus = check;
    },
    registerOwnedClients(list) {
      ownedClients = list;
    },
    initialise(options = {}) {
      initialised ??= (async () => {
        await keys.initialise(options);
        if (revocations === databaseRevocations) await databaseRevocations.load();
      })();
      return initialised;
    },
  };
  services.set(context, service);
  return service;
}
