import formbody from '@fastify/formbody';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import { isRevoked, keyStopsAt } from '../apikeys/api-key-store.js';
import { heldPermissions } from '../apikeys/held-permissions.js';
import type { AuditEventInput } from '../audit/audit-event.js';
import { issuerIsUrl } from '../config/issuer-url.js';
import { isPermission } from '../authz/permission-match.js';
import { NotFoundError, WardenError } from '../errors/index.js';
import { shownFieldName } from '../errors/shown-field-name.js';
import { isUnstorableText, renderError } from '../http/error-handler.js';
import { identityOf } from '../identity/identity-service.js';
import { REFRESH_TOKEN_PREFIX } from '../identity/session-store.js';
import { looksLikeJwt } from '../identity/token-checks.js';
import type { AppContext } from '../server/app-context.js';
import { isDatabaseOutage } from '../storage/index.js';
import { INVALID_CLIENT_HEADERS, presentedClient } from './client-credentials-parser.js';
import type { OAuthClient } from './oauth-client-service.js';
import { oauthOf } from './oauth-domain.js';
import { OAuthError, sendOAuthError } from './oauth-error.js';

type Form = Record<string, string | undefined>;

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const MAX_PARAMETER_LENGTH = 4096;

/**
 * RFC 6749 §3.2: parameters must not repeat; unknown ones are ignored, and one sent without a
 * value counts as omitted. `token` may be as long as an access token Warden accepts
 * (WARDEN_JWT_MAX_BYTES): every token that works can be revoked.
 */
function formOf(request: FastifyRequest, maxTokenLength = MAX_PARAMETER_LENGTH): Form {
  const body = request.body;
  if (body === null || typeof body !== 'object') throw new OAuthError('invalid_request', 'The body must be application/x-www-form-urlencoded');
  const form: Form = {};
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    if (typeof value !== 'string') throw new OAuthError('invalid_request', `The parameter ${shownFieldName(key)} is repeated`);
    const limit = key === 'token' ? Math.max(maxTokenLength, MAX_PARAMETER_LENGTH) : MAX_PARAMETER_LENGTH;
    if (value.length > limit) throw new OAuthError('invalid_request', `The parameter ${shownFieldName(key)} is too long`);
    if (value !== '') form[key] = value;
  }
  return form;
}


/** The base URL of the endpoints: the issuer when it is a URL (as RFC 8414 wants), else the request's origin. */
function baseUrl(context: AppContext, request: FastifyRequest): string {
  const issuer = context.settings.jwtIssuer;
  if (issuerIsUrl(issuer)) return issuer.replace(/\/$/, '');
  return `${request.protocol}://${request.host}`;
}

/** Records an event of a client endpoint with the request's facts (ip, user agent, request id). */
function recordFor(context: AppContext, request: FastifyRequest, event: Omit<AuditEventInput, 'ip' | 'user_agent' | 'request_id'>): Promise<void> {
  return context.audit.record({
    ...event,
    ip: request.ip,
    // Unclipped: the recorder redacts it first, then clips (a secret cut in two would survive).
    ...(request.headers['user-agent'] === undefined ? {} : { user_agent: request.headers['user-agent'] }),
    request_id: request.id,
  });
}

/** Authenticates the calling client, with the login throttle's lockouts and an audit event per failure. */
async function authenticateClient(context: AppContext, request: FastifyRequest, form: Form): Promise<OAuthClient> {
  const presented = presentedClient(request, form);
  const oauth = oauthOf(context);
  // Client ids are UUIDs. Anything else (e.g. a secret pasted into the id field) is neither
  // stored in the audit log nor used as a counter key.
  const idShown = UUID.test(presented.clientId) ? presented.clientId : 'invalid';
  const failure = (outcome: 'failure' | 'denied', reason: string): Promise<void> =>
    recordFor(context, request, {
      action: 'client.auth.failed',
      actor: `client:${idShown}`,
      entity_type: 'oauth_client',
      entity_id: idShown,
      outcome,
      details: { reason, method: presented.method },
    });
  // Per address only. A client secret is 256 random bits, so a per-client lockout would stop no
  // guessing; it would let anyone who knows a client id (it is in every token the client holds)
  // lock the client out, and turn a burst of concurrent correct calls into 429s.
  const gate = await oauth.throttle.checkIp(request.ip);
  if (!gate.allowed) {
    // As for a throttled login: a lockout being hit is what shows an ongoing guessing attack.
    await failure('denied', 'throttled');
    const seconds = Math.max(1, Math.ceil(gate.retryAfterMs / 1000));
    throw new OAuthError('invalid_client', `Too many failed client authentications; retry in ${seconds} s`, 429, { 'retry-after': String(seconds) });
  }
  const result = await oauth.clients.authenticate(presented.clientId, presented.clientSecret);
  if (result.ok) return result.client;
  await oauth.throttle.recordFailure(request.ip);
  await failure('failure', result.reason);
  // One answer for every failure: an unknown id and a wrong secret look the same.
  throw new OAuthError('invalid_client', 'Client authentication failed', 401, INVALID_CLIENT_HEADERS);
}

/**
 * Whether a client may act with `permission` now: its own scope and its owner's current
 * permissions must both cover it, as for the scopes of a token grant. The client stands for
 * its owner, so an owner who lost the permission takes it from the client at once.
 */
async function clientMay(context: AppContext, client: OAuthClient, permission: 'tokens:introspect' | 'tokens:revoke'): Promise<boolean> {
  return (await oauthOf(context).clients.grantableScopes(client, [permission])) !== undefined;
}

/** `POST /oauth/token` (client credentials), `/oauth/introspect`, `/oauth/revoke` and the RFC 8414 metadata. */
export async function oauthRoutes(app: FastifyInstance, context: AppContext): Promise<void> {
  await app.register(async (scope) => {
    // Form bodies only here, as RFC 6749 says; JSON stays the rule everywhere else.
    // Room for the longest access token Warden accepts, plus the client's credentials.
    const maxTokenLength = context.settings.jwtMaxBytes;
    await scope.register(formbody, { bodyLimit: Math.max(16 * 1024, maxTokenLength + 8 * 1024) });
    scope.removeContentTypeParser('application/json');
    scope.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      if (error instanceof OAuthError) return sendOAuthError(reply, error);
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return sendOAuthError(reply, new OAuthError('invalid_request', 'The request body exceeds the size limit', 413));
      }
      if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || error.code?.startsWith('FST_ERR_CTP') === true) {
        return sendOAuthError(reply, new OAuthError('invalid_request', 'The body must be application/x-www-form-urlencoded'));
      }
      // PostgreSQL refuses a NUL character in a parameter (SQLite stores it): the client's fault, on either.
      if (isUnstorableText(error)) {
        return sendOAuthError(reply, new OAuthError('invalid_request', 'A parameter contains a NUL character or text the database cannot store'));
      }
      // Warden's own errors (a 503 while Redis is down) and a lost database: as on every other
      // route (503 with Retry-After and a throttled log line, 500 details kept for the log).
      if (error instanceof WardenError || isDatabaseOutage(error)) return renderError(error, request, reply);
      request.log.error({ err: error }, 'oauth endpoint failed');
      return sendOAuthError(reply, new OAuthError('server_error', `Unexpected error; request id ${request.id}`, 500));
    });

    scope.post('/oauth/token', { config: { public: true } }, async (request, reply) => {
      const form = formOf(request);
      if (form.grant_type === undefined) throw new OAuthError('invalid_request', 'grant_type is required');
      if (form.grant_type !== 'client_credentials') {
        throw new OAuthError('unsupported_grant_type', 'Only grant_type=client_credentials is supported');
      }
      const client = await authenticateClient(context, request, form);
      const requested = form.scope === undefined || form.scope.trim() === '' ? undefined : [...new Set(form.scope.trim().split(/ +/))];
      // The client's scopes as far as its owner still holds them (oauth-client-service.ts).
      const granted = await oauthOf(context).clients.grantableScopes(client, requested);
      if (granted === undefined) {
        // Only permission names are echoed: a secret pasted into `scope` must not come back.
        const shown = (requested ?? []).filter(isPermission).join(' ').slice(0, 200);
        const malformed = (requested ?? []).some((scope) => !isPermission(scope));
        throw new OAuthError('invalid_scope', malformed ? 'A requested scope is not a resource:action permission name' : `Not granted to this client: ${shown}`);
      }
      // An empty grant is a token good for nothing, and would hide that the owner holds none of
      // the client's scopes any more (or that the client has none).
      if (granted.length === 0) throw new OAuthError('invalid_scope', "No scope can be granted: the client's owner holds none of the client's scopes");
      const issued = await oauthOf(context).tokens().issue(client.client_id, granted, { notAfterMs: client.expires_at });
      // A token Warden's own verifier would refuse is no token: the caller asks for fewer scopes.
      if (issued.token.length > maxTokenLength) {
        throw new OAuthError('invalid_scope', `The granted scopes make a token longer than WARDEN_JWT_MAX_BYTES (${maxTokenLength} bytes); request fewer scopes`);
      }
      // The client-credentials counterpart of a login: the jti identifies the token (and matches
      // a later revocation's event) without storing the token itself.
      await recordFor(context, request, {
        action: 'client.token.issued',
        actor: `client:${client.client_id}`,
        entity_type: 'access_token',
        entity_id: issued.jti,
        outcome: 'success',
        details: { grant_type: 'client_credentials', scope: granted },
      });
      return reply.headers(NO_STORE).send({
        access_token: issued.token,
        token_type: 'Bearer',
        expires_in: issued.expiresIn,
        scope: granted.join(' '),
      });
    });

    scope.post('/oauth/introspect', { config: { public: true, rateLimit: { key: 'ip' } } }, async (request, reply) => {
      const form = formOf(request, maxTokenLength);
      const client = await authenticateClient(context, request, form);
      if (!(await clientMay(context, client, 'tokens:introspect'))) {
        throw new OAuthError('invalid_client', 'This client may not introspect tokens (needs the tokens:introspect scope)', 403);
      }
      if (form.token === undefined || form.token === '') throw new OAuthError('invalid_request', 'token is required');
      reply.headers(NO_STORE);
      return introspect(context, form.token);
    });

    scope.post('/oauth/revoke', { config: { public: true, rateLimit: { key: 'ip' } } }, async (request, reply) => {
      const form = formOf(request, maxTokenLength);
      const client = await authenticateClient(context, request, form);
      if (form.token === undefined || form.token === '') throw new OAuthError('invalid_request', 'token is required');
      await revoke(context, form.token, client, request);
      // RFC 7009 §2.2: 200 whether or not the token was valid, so nothing is learnt by probing.
      return reply.headers(NO_STORE).code(200).send();
    });
  });

  const metadata = async (request: FastifyRequest): Promise<Record<string, unknown>> => {
    const base = baseUrl(context, request);
    return {
      issuer: issuerIsUrl(context.settings.jwtIssuer) ? context.settings.jwtIssuer : base,
      token_endpoint: `${base}/oauth/token`,
      introspection_endpoint: `${base}/oauth/introspect`,
      revocation_endpoint: `${base}/oauth/revoke`,
      jwks_uri: `${base}/.well-known/jwks.json`,
      grant_types_supported: ['client_credentials'],
      response_types_supported: [],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    };
  };
  app.get('/.well-known/oauth-authorization-server', { config: { public: true } }, metadata);
  // RFC 8414 §3.1: for an issuer with a path, clients look for the metadata with the path after
  // the well-known part (`/.well-known/oauth-authorization-server/warden`).
  const issuerPath = issuerPathOf(context.settings.jwtIssuer);
  if (issuerPath !== undefined) app.get(`/.well-known/oauth-authorization-server${issuerPath}`, { config: { public: true } }, metadata);
}

/** The path of a URL issuer without its trailing `/`; undefined for a root path, a non-URL issuer, or one a route cannot spell. */
function issuerPathOf(issuer: string): string | undefined {
  if (!issuerIsUrl(issuer) || !URL.canParse(issuer)) return undefined;
  const path = new URL(issuer).pathname.replace(/\/+$/, '');
  // Route syntax gives `:` and `*` meanings: a path with other characters gets no such route (docs/oauth.md).
  return /^(?:\/[A-Za-z0-9._~-]+)+$/.test(path) ? path : undefined;
}

/** RFC 7662: `{active: false}` for anything not currently valid, never a reason. */
async function introspect(context: AppContext, token: string): Promise<Record<string, unknown>> {
  if (token.startsWith(REFRESH_TOKEN_PREFIX)) {
    const found = await identityOf(context).sessions.inspect(token);
    if (found === undefined || !found.usable) return { active: false };
    return { active: true, token_type: 'refresh_token', sub: found.userId, exp: Math.floor(found.expiresAt / 1000) };
  }
  if (looksLikeJwt(token)) {
    const result = await identityOf(context).verifier.verify(token);
    if (!result.valid) return { active: false };
    const { claims } = result;
    // The verifier allows the clock skew past exp, for tokens checked on other hosts' clocks;
    // introspection is the issuer's own clock, which RFC 7662 asks to decide expiry.
    if (claims.exp * 1000 <= Date.now()) return { active: false };
    const payload = decodeJwt(token);
    return {
      active: true,
      token_type: 'Bearer',
      sub: claims.sub,
      ...(typeof payload.client_id === 'string' ? { client_id: payload.client_id } : {}),
      ...(claims.scope === undefined ? {} : { scope: claims.scope.join(' ') }),
      iss: payload.iss,
      aud: payload.aud,
      iat: claims.iat,
      exp: claims.exp,
      jti: claims.jti,
    };
  }
  // Anything else may be an API key: `wdn_…`, or one imported in an older store's format.
  return context.apiKeys === undefined ? { active: false } : introspectApiKey(context, context.apiKeys, token);
}

async function introspectApiKey(context: AppContext, apiKeys: NonNullable<AppContext['apiKeys']>, token: string): Promise<Record<string, unknown>> {
  // The introspecting resource server's address is not where the key was used: none is recorded.
  const result = await apiKeys.verifier.verify(token, {});
  if (!result.valid) return { active: false };
  const key = result.key;
  // A resource server grants from `scope`: it must be what the key holds now (as a guarded
  // route would allow it), not the stored list an owner's demotion leaves as it was.
  const scope = await heldPermissions(context.authorize, key);
  // Nothing left of what it carried: the key can do nothing, and `active` is what most
  // resource servers look at first.
  if (key.permissions.length > 0 && scope.length === 0) return { active: false };
  const stopsAt = keyStopsAt(key);
  return {
    active: true,
    token_type: 'api_key',
    sub: key.ownerId,
    scope: scope.join(' '),
    // A rotated key stops at the end of its grace: a resource server may cache this answer until exp.
    ...(stopsAt === undefined ? {} : { exp: Math.floor(stopsAt / 1000) }),
    key_id: key.id,
  };
}

/**
 * RFC 7009: a client revokes its own tokens; with the tokens:revoke scope (held by its owner
 * too), any access token, refresh token or API key.
 */
async function revoke(context: AppContext, token: string, client: OAuthClient, request: FastifyRequest): Promise<void> {
  const mayRevokeAny = await clientMay(context, client, 'tokens:revoke');
  if (looksLikeJwt(token)) {
    const identity = identityOf(context);
    const result = await identity.verifier.verify(token);
    if (!result.valid) return;
    const payload = decodeJwt(token);
    if (payload.client_id !== client.client_id && !mayRevokeAny) return;
    // Kept past exp by the clock skew: the verifier accepts a token until exp + skew.
    await identity.revocations.revokeToken(result.claims.jti, (result.claims.exp + context.settings.clockSkewSeconds) * 1000);
    await context.audit.record({
      action: 'auth.logout',
      actor: `client:${client.client_id}`,
      entity_type: 'access_token',
      entity_id: result.claims.jti,
      outcome: 'success',
      ip: request.ip,
      request_id: request.id,
      details: { via: 'oauth_revoke' },
    });
    return;
  }
  if (token.startsWith(REFRESH_TOKEN_PREFIX)) {
    if (!mayRevokeAny) return;
    const found = await identityOf(context).sessions.inspect(token);
    if (found === undefined) return;
    // The session's access tokens stop too, as on logout. Recorded when this request ended it,
    // or wrote its marker again soon after (the retry of an attempt whose marker or audit write
    // failed must not leave the end unrecorded); a later repeat changes nothing and records nothing.
    const outcome = await identityOf(context).auth.endSession(found.sessionId, 'oauth_revoke');
    if (outcome === undefined) return;
    await context.audit.record({
      action: 'auth.logout',
      actor: `client:${client.client_id}`,
      entity_type: 'session',
      entity_id: found.sessionId,
      outcome: 'success',
      ip: request.ip,
      request_id: request.id,
      details: { via: 'oauth_revoke', user_id: found.userId, ...(outcome === 'reasserted' ? { repeat: true } : {}) },
    });
    return;
  }
  // Anything else may be an API key: `wdn_…`, or one imported in an older store's format.
  if (context.apiKeys !== undefined && mayRevokeAny) {
    // Identified, not verified: a key that is rate-limited, disabled, expired or whose owner is
    // deactivated is refused now but could work again (or be re-enabled), so it is revoked too;
    // and identifying is no use of the key (no rate-limit token, no usage).
    const key = await context.apiKeys.verifier.identify(token);
    if (key === undefined || isRevoked(key, Date.now())) return;
    try {
      await context.apiKeys.service.revoke(key.id, { actor: `client:${client.client_id}`, ip: request.ip, requestId: request.id });
    } catch (error) {
      // Gone since it was identified (its owner deleted): nothing left to revoke, and still 200.
      if (!(error instanceof NotFoundError)) throw error;
    }
  }
}
