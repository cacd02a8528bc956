/**
 * A login session = one refresh-token family. Every refresh token of the family points here;
 * revoking the session (logout, logout-all, reuse detected) kills all of them at once.
 */
export interface AuthSessionsTable {
  id: string;
  user_id: string;
  created_at: number;
  last_used_at: number;
  /** Absolute end of the family (no refresh extends a session past it). */
  expires_at: number;
  revoked_at: number | null;
  /** Why it was revoked: 'logout', 'logout_all', 'reuse_detected', 'user_deactivated', 'revoked'. */
  revoked_reason: string | null;
  ip: string | null;
  user_agent: string | null;
}

/** One refresh token, stored only as a keyed hash (HMAC-SHA256 with a key derived from the secret). */
export interface RefreshTokensTable {
  token_hash: string;
  session_id: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  /** Set when the token was exchanged; a second use is theft. */
  used_at: number | null;
}

/** JWT signing keys. `private_key` is always encrypted (field cipher or an AES-GCM key derived from the secret). */
export interface SigningKeysTable {
  kid: string;
  algorithm: string;
  /** Public JWK as JSON (null for HS256: a shared secret is never published). */
  public_jwk: string | null;
  private_key: string;
  created_at: number;
  /** Set when a newer key took over: this key signs no more, but stays published. */
  superseded_at: number | null;
  /** After this time no token signed by the key can still be valid: it is no longer published. */
  retire_after: number | null;
}

/**
 * The access-token denylist when Redis is not configured (loaded into memory at start, so a
 * restart does not resurrect a logged-out token). `subject` is 'jti:<jti>' for one token, or
 * 'user:<id>' with `not_before` for "every token of this user issued up to then" (logout-all).
 * Rows are useless once `expires_at` (the longest possible token life) has passed.
 */
export interface RevokedTokensTable {
  subject: string;
  not_before: number | null;
  expires_at: number;
}

export interface IdentityTables {
  auth_sessions: AuthSessionsTable;
  refresh_tokens: RefreshTokensTable;
  signing_keys: SigningKeysTable;
  revoked_tokens: RevokedTokensTable;
}
