import { decodeProtectedHeader, errors, jwtVerify, type CryptoKey, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ACCESS_TOKEN_TYPE } from './access-token-issuer.js';
import type { UserStatus } from './user-status-cache.js';

/** Why an access token was refused; each is a registered error code with its own 401 title. */
export type TokenRejection =
  | 'token_malformed'
  | 'token_too_large'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'token_invalid_signature'
  | 'token_algorithm_not_allowed'
  | 'token_unknown_kid'
  | 'token_invalid_claims'
  | 'token_revoked'
  | 'user_inactive';

/** The claims of a verified access token. */
export interface AccessTokenClaims {
  readonly sub: string;
  readonly jti: string;
  /** Epoch seconds. */
  readonly iat: number;
  /** Issue time in ms (Warden's `iat_ms` claim), else the end of the iat second (conservative). */
  readonly issuedAtMs: number;
  readonly exp: number;
  readonly sid: string | undefined;
  /** The scope claim as a list; undefined when the token is not restricted. */
  readonly scope: readonly string[] | undefined;
  readonly roles: readonly string[];
  /** Set on client-credentials tokens (RFC 9068 `client_id`); then `sub` is the client too. */
  readonly clientId: string | undefined;
}

/** An expected denial is a value, not an exception. */
export type TokenVerification =
  | {
      readonly valid: true;
      readonly claims: AccessTokenClaims;
      /** The user's status as checked (absent for OAuth client tokens), so callers need not read it again. */
      readonly user?: UserStatus;
    }
  | { readonly valid: false; readonly code: TokenRejection };

// The signature part may be empty (alg: none), so that such a token is refused as a disallowed algorithm.
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Looks like a compact JWS at all? (Used to let API keys pass to the next authenticator.) */
export function looksLikeJwt(credential: string): boolean {
  return credential.startsWith('eyJ') && JWT_SHAPE.test(credential);
}

/**
 * The checks before any cryptography, in order: size, shape, header, algorithm allow-list
 * (this is what stops `alg: none` and HS256-signed-with-the-public-key), kid present.
 */
export function preCheckToken(
  token: string,
  options: { readonly maxBytes: number; readonly algorithms: readonly string[] },
): { readonly ok: true; readonly alg: string; readonly kid: string } | { readonly ok: false; readonly code: TokenRejection } {
  if (token.length > options.maxBytes) return { ok: false, code: 'token_too_large' };
  if (!JWT_SHAPE.test(token)) return { ok: false, code: 'token_malformed' };
  let header: { alg?: unknown; kid?: unknown; crit?: unknown };
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return { ok: false, code: 'token_malformed' };
  }
  if (typeof header.alg !== 'string' || !options.algorithms.includes(header.alg)) return { ok: false, code: 'token_algorithm_not_allowed' };
  if (typeof header.kid !== 'string' || header.kid === '') return { ok: false, code: 'token_unknown_kid' };
  return { ok: true, alg: header.alg, kid: header.kid };
}

/** Verifies signature and claims with one known key; maps jose's errors to our codes. */
export async function verifySignatureAndClaims(
  token: string,
  key: CryptoKey | Uint8Array | JWTVerifyGetKey,
  options: {
    readonly algorithm: string;
    readonly issuer: string;
    readonly audience: string;
    readonly clockSkewSeconds: number;
    readonly nowMs: number;
  },
): Promise<TokenVerification> {
  if (!payloadIsJsonObject(token)) return { valid: false, code: 'token_malformed' };
  let payload: JWTPayload;
  try {
    const verifyOptions = {
      algorithms: [options.algorithm],
      issuer: options.issuer,
      audience: options.audience,
      clockTolerance: options.clockSkewSeconds,
      currentDate: new Date(options.nowMs),
      typ: ACCESS_TOKEN_TYPE,
      requiredClaims: ['sub', 'jti', 'iat', 'exp', 'nbf'],
    };
    // Two calls because jwtVerify's overloads do not accept the union of a key and a key getter.
    ({ payload } = typeof key === 'function' ? await jwtVerify(token, key, verifyOptions) : await jwtVerify(token, key, verifyOptions));
  } catch (error) {
    // No verdict on the token: the keys could not be had. The caller decides (a guard: 503).
    if (error instanceof KeySourceUnavailableError) throw error;
    return { valid: false, code: rejectionForJoseError(error) };
  }
  const claims = claimsFromPayload(payload);
  return claims === undefined ? { valid: false, code: 'token_invalid_claims' } : { valid: true, claims };
}

// jose checks the signature before it parses the payload; parsing first lets a garbled payload
// say so (token_malformed) instead of looking like a forgery.
function payloadIsJsonObject(token: string): boolean {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  } catch {
    return false;
  }
}

/**
 * The verification keys could not be loaded (a remote JWKS that did not answer, answered badly
 * or too much): no verdict on the token, which a caller must not report as forged.
 */
export class KeySourceUnavailableError extends Error {
  readonly code = 'service_unavailable';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeySourceUnavailableError';
  }
}

/** jose error → our code. Unknown errors count as a bad signature (fail closed). */
export function rejectionForJoseError(error: unknown): TokenRejection {
  if (error instanceof errors.JWTExpired) return 'token_expired';
  // Only an nbf in the future is "not yet valid"; a missing or non-numeric one is a bad claim.
  if (error instanceof errors.JWTClaimValidationFailed) return error.claim === 'nbf' && error.reason === 'check_failed' ? 'token_not_yet_valid' : 'token_invalid_claims';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'token_algorithm_not_allowed';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'token_invalid_signature';
  if (error instanceof errors.JWKSNoMatchingKey) return 'token_unknown_kid';
  // A header jose does not support (an unknown `crit` extension) is no forged signature.
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid || error instanceof errors.JOSENotSupported) return 'token_malformed';
  return 'token_invalid_signature';
}

function claimsFromPayload(payload: JWTPayload): AccessTokenClaims | undefined {
  const { sub, jti, iat, exp } = payload;
  if (typeof sub !== 'string' || typeof jti !== 'string' || typeof iat !== 'number' || typeof exp !== 'number') return undefined;
  const scope = payload.scope;
  const roles = payload.roles;
  if (scope !== undefined && typeof scope !== 'string') return undefined;
  if (roles !== undefined && !(Array.isArray(roles) && roles.every((r) => typeof r === 'string'))) return undefined;
  return {
    sub,
    jti,
    iat,
    issuedAtMs: typeof payload.iat_ms === 'number' && Math.floor(payload.iat_ms / 1000) === iat ? payload.iat_ms : iat * 1000 + 999,
    exp,
    sid: typeof payload.sid === 'string' ? payload.sid : undefined,
    clientId: typeof payload.client_id === 'string' && payload.client_id === sub ? payload.client_id : undefined,
    scope: scope === undefined ? undefined : scope.split(' ').filter((s) => s !== ''),
    roles: (roles as string[] | undefined) ?? [],
  };
}
