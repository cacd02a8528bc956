import type { FastifyRequest } from 'fastify';
import type { AuditRecorder } from '../audit/audit-event.js';
import { WardenError, type ErrorCode } from '../errors/index.js';
import { bearerToken, singleApiKeyHeader, type Authenticator } from '../http/auth-guard.js';
import type { Principal } from '../http/principal.js';
import { rateLimitHeader, rateLimitPolicyHeader, retryAfterSeconds } from '../ratelimit/rate-limit-headers.js';
import type { ApiKeyRecord } from './api-key-store.js';
import type { ApiKeyVerifier, KeyRateLimitState, VerificationCode, VerificationResult } from './api-key-verifier.js';
import { keyPrincipal } from './held-permissions.js';
import { looksLikeWardenKey } from './key-format.js';

/** The error code a refused key turns into when it is used as a credential. */
export const CREDENTIAL_ERROR: Record<VerificationCode, ErrorCode> = {
  malformed: 'key_malformed',
  not_found: 'key_not_found',
  revoked: 'key_revoked',
  expired: 'key_expired',
  disabled: 'key_disabled',
  insufficient_permissions: 'insufficient_permissions',
  rate_limited: 'rate_limited',
};

/**
 * The presented API key: `X-API-Key`, or a `Bearer` credential in the `wdn_` format (JWTs are
 * left to others). Throws `ambiguous_credentials` (400) for `X-API-Key` together with an
 * `Authorization` header, or for a repeated `X-API-Key`.
 */
export function presentedApiKey(request: FastifyRequest): string | undefined {
  const header = singleApiKeyHeader(request);
  if (header !== undefined) return header.trim();
  const bearer = bearerToken(request);
  return bearer !== undefined && looksLikeWardenKey(bearer) ? bearer : undefined;
}

/**
 * The API-key authenticator: the principal carries exactly the key's permissions. A refused
 * key is a 401 with the key_* code (429 with Retry-After when the key's own limit is spent)
 * and an `apikey.verification_denied` audit event naming the key by id and prefix only.
 */
export function createApiKeyAuthenticator(verifier: ApiKeyVerifier, audit: () => AuditRecorder): Authenticator {
  /** The principal of a valid key; a refused key is audited and thrown as its 401/429. */
  const principalOf = async (request: FastifyRequest, result: VerificationResult): Promise<Principal> => {
    if (result.valid) return keyPrincipal(result.key);
    await audit().record({
      action: 'apikey.verification_denied',
      actor: result.key === undefined ? 'anonymous' : `apikey:${result.key.id}`,
      entity_type: 'api_key',
      entity_id: result.key?.id,
      outcome: 'denied',
      ip: request.ip,
      user_agent: request.headers['user-agent'],
      request_id: request.id,
      details: { code: result.code, via: 'credential', prefix: result.key?.prefix },
    });
    if (result.code === 'rate_limited' && result.ratelimit !== undefined) throw keyOverItsLimit(result.key?.rateLimit, result.ratelimit);
    throw new WardenError(CREDENTIAL_ERROR[result.code], undefined, { headers: { 'www-authenticate': 'Bearer realm="warden", error="invalid_token"' } });
  };
  return (request) => {
    const key = presentedApiKey(request);
    if (key === undefined) return undefined;
    const options = { ip: request.ip };
    // A key the cache vouches for is answered synchronously: no promise on the hot path.
    const cached = verifier.verifyCached(key, options);
    if (cached?.valid === true) return keyPrincipal(cached.key);
    if (cached !== undefined) return principalOf(request, cached);
    return verifier.verify(key, options).then((result) => principalOf(request, result));
  };
}

/**
 * The 429 of a key over its own limit, as every rate_limited answer: Retry-After, the body's
 * `retry_after_s`, and the key's budget in RateLimit-Policy / RateLimit (added to the per-IP
 * ones the error handler finds on the reply), so no advertised policy shows quota left for a
 * refused request.
 */
function keyOverItsLimit(limit: ApiKeyRecord['rateLimit'], state: KeyRateLimitState): WardenError {
  const seconds = retryAfterSeconds(state.retry_after_ms);
  const rateLimitHeaders =
    limit === undefined
      ? {}
      : (() => {
          const policy = { name: `apikey-${Math.max(1, Math.ceil(limit.windowMs / 1000))}s`, limit: limit.limit, windowMs: limit.windowMs };
          const decision = { allowed: false, limit: limit.limit, remaining: state.remaining, reset_ms: state.reset_ms, retry_after_ms: state.retry_after_ms };
          return { 'ratelimit-policy': rateLimitPolicyHeader([policy]), ratelimit: rateLimitHeader([policy], [decision]) };
        })();
  return new WardenError('rate_limited', `Too many requests with this API key; retry in ${seconds} s`, {
    headers: { ...rateLimitHeaders, 'retry-after': String(seconds) },
    fields: { retry_after_s: seconds },
  });
}
