/**
 * The one registry of Warden's stable error codes. Each code maps to an HTTP status and a
 * short human title; the HTTP layer renders them as RFC 9457 problem+json and
 * docs/errors.md lists them (a test keeps the two in step).
 */
export const ERROR_CODES = {
  // Generic request problems
  invalid_request: { status: 400, title: 'The request is invalid' },
  validation_failed: { status: 400, title: 'The request body or parameters failed validation' },
  malformed_json: { status: 400, title: 'The request body is not valid JSON' },
  invalid_host: { status: 400, title: 'The Host header is not allowed' },
  invalid_path: { status: 400, title: 'The request path is not allowed' },
  unauthorized: { status: 401, title: 'Authentication is required' },
  forbidden: { status: 403, title: 'The caller lacks the permission for this action' },
  not_found: { status: 404, title: 'The resource does not exist' },
  method_not_allowed: { status: 405, title: 'The method is not allowed on this resource' },
  conflict: { status: 409, title: 'The request conflicts with the current state' },
  request_timeout: { status: 408, title: 'The request did not arrive in time' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'The content type is not supported here' },
  expectation_failed: { status: 417, title: 'The Expect header asks for what the server does not do' },
  request_headers_too_large: { status: 431, title: 'The request headers are too large' },
  rate_limited: { status: 429, title: 'Too many requests' },
  internal_error: { status: 500, title: 'Internal server error' },
  service_unavailable: { status: 503, title: 'The service is temporarily unavailable' },
  overloaded: { status: 503, title: 'The service is overloaded; retry later' },

  // Configuration and storage
  config_invalid: { status: 500, title: 'The configuration is invalid' },
  storage_unavailable: { status: 503, title: 'The database is unreachable' },

  // Identity and tokens
  invalid_credentials: { status: 401, title: 'The email or password is wrong' },
  account_locked: { status: 429, title: 'Too many failed logins; the account is locked for a while' },
  weak_password: { status: 400, title: 'The password does not meet the password policy' },
  email_taken: { status: 409, title: 'A user with this email already exists' },
  token_missing: { status: 401, title: 'No credential was presented' },
  ambiguous_credentials: { status: 400, title: 'The request carries more than one credential' },
  token_malformed: { status: 401, title: 'The token is malformed' },
  token_too_large: { status: 401, title: 'The token exceeds the size limit' },
  token_expired: { status: 401, title: 'The token has expired' },
  token_not_yet_valid: { status: 401, title: 'The token is not valid yet' },
  token_invalid_signature: { status: 401, title: 'The token signature is invalid' },
  token_algorithm_not_allowed: { status: 401, title: 'The token algorithm is not allowed' },
  token_unknown_kid: { status: 401, title: 'The token was signed by an unknown key' },
  token_invalid_claims: { status: 401, title: 'The token issuer, audience or claims are wrong' },
  token_revoked: { status: 401, title: 'The token has been revoked' },
  user_inactive: { status: 401, title: 'The user is deactivated' },
  refresh_token_invalid: { status: 401, title: 'The refresh token is invalid or expired' },
  refresh_token_reused: { status: 401, title: 'The refresh token was already used; the session is revoked' },

  // API keys
  key_malformed: { status: 401, title: 'The API key is malformed' },
  key_not_found: { status: 401, title: 'The API key is unknown' },
  key_expired: { status: 401, title: 'The API key has expired' },
  key_revoked: { status: 401, title: 'The API key has been revoked' },
  key_disabled: { status: 401, title: 'The API key is disabled' },
  key_locked: { status: 403, title: 'The API key was disabled by an administrator; only someone who manages its owner can re-enable it' },
  insufficient_permissions: { status: 403, title: 'The credential lacks a required permission' },

  // Authorization
  role_in_use: { status: 409, title: 'The role is still assigned' },
  role_cycle: { status: 400, title: 'Role inheritance would create a cycle' },
  privilege_escalation: { status: 403, title: 'The caller cannot grant more than it holds' },

  // Crypto and secrets
  decryption_failed: { status: 400, title: 'The ciphertext could not be decrypted' },
  secret_not_found: { status: 500, title: 'A required secret is missing' },
  secret_provider_error: { status: 503, title: 'A secret provider failed' },

  // Resilience
  circuit_open: { status: 503, title: 'The upstream is unavailable (circuit open)' },
  upstream_timeout: { status: 504, title: 'The upstream did not answer in time' },
  upstream_error: { status: 502, title: 'The upstream failed' },

  // Audit
  audit_unavailable: { status: 503, title: 'The audit log could not be written' },
  audit_chain_broken: { status: 409, title: 'The audit chain does not verify there; nothing was pruned' },
} as const satisfies Record<string, { status: number; title: string }>;

/** A stable machine-readable error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The HTTP status that belongs to an error code. */
export function statusOf(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}

/** True when a string is one of the registered codes. */
export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_CODES, value);
}
