/**
 * API keys. The plain key is never stored: `key_hash` is HMAC-SHA256 under the pepper
 * `pepper_version` (hash_scheme 'hmac-sha256'), or, for rows imported from an older store,
 * SHA-256 with that store's fixed salt (hash_scheme 'legacy-sha256') until the key's first
 * successful use upgrades it. Keys in the `wdn_` format are found by `prefix`; imported keys
 * of other formats by `lookup_hash` (equal to `key_hash`, unique).
 */
export interface ApiKeysTable {
  id: string;
  /** First 8 random characters of a `wdn_` key; for imported keys the first 8 characters ('' until known). */
  prefix: string;
  /** 'live' | 'test' | 'imported' */
  environment: string;
  key_hash: string;
  hash_scheme: string;
  pepper_version: number;
  lookup_hash: string | null;
  name: string;
  owner_id: string;
  /** JSON array of permission strings. */
  permissions: string;
  /** JSON object. */
  metadata: string;
  rate_limit: number | null;
  rate_limit_window_ms: number | null;
  is_enabled: number;
  /** Actor id (user id, `apikey:<id>`, `system`) of the disable in force; NULL while enabled (migration 0011). */
  disabled_by: string | null;
  /**
   * 1 when the disable in force was made with authority over the owner (users:write) rather
   * than as the owner: only such authority may re-enable the key. 0 while enabled.
   */
  disabled_by_admin: number;
  created_by: string;
  created_at: number;
  updated_at: number;
  expires_at: number | null;
  /** When the key stops working; in the future during a rotation's grace period. */
  revoked_at: number | null;
  /** 'revoked' | 'rotated' */
  revoked_reason: string | null;
  /** The key this one was rotated from / to. */
  rotated_from: string | null;
  replaced_by: string | null;
  usage_count: number;
  last_used_at: number | null;
  last_used_ip: string | null;
  /**
   * Imported keys only: `<pepper tag>:<hex HMAC>` of the import entry (its legacy hash or its
   * plain key; see key-import.ts). Never changed by the hash upgrade or a revocation, so a
   * re-run import still recognises the key. Unique (migration 0009).
   */
  import_fingerprint: string | null;
}

export interface ApiKeyTables {
  api_keys: ApiKeysTable;
}
