import type { Kysely, Selectable } from 'kysely';
import type { DatabaseSchema } from '../storage/index.js';
import type { KeysetPosition } from '../storage/keyset-cursor.js';
import type { ApiKeysTable } from './apikey-tables.js';

export type ApiKeyRow = Selectable<ApiKeysTable>;

/** The key's settings as the domain sees them (JSON columns decoded). */
export interface ApiKeyRecord {
  readonly id: string;
  readonly prefix: string;
  readonly environment: string;
  readonly keyHash: string;
  readonly hashScheme: 'hmac-sha256' | 'legacy-sha256';
  readonly pepperVersion: number;
  readonly name: string;
  readonly ownerId: string;
  readonly permissions: readonly string[];
  readonly metadata: Record<string, unknown>;
  readonly rateLimit: { readonly limit: number; readonly windowMs: number } | undefined;
  readonly enabled: boolean;
  /** Who made the disable in force (an actor id); undefined while enabled or for disables before migration 0011. */
  readonly disabledBy: string | undefined;
  /** The disable in force was made by someone managing the owner: the owner alone cannot lift it. */
  readonly disabledByAdmin: boolean;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly expiresAt: number | undefined;
  readonly revokedAt: number | undefined;
  readonly revokedReason: string | undefined;
  readonly rotatedFrom: string | undefined;
  readonly replacedBy: string | undefined;
  readonly usageCount: number;
  readonly lastUsedAt: number | undefined;
  readonly lastUsedIp: string | undefined;
}

/** Decodes a row; numbers are coerced because PostgreSQL bigint may arrive as strings on some drivers. */
export function toRecord(row: ApiKeyRow): ApiKeyRecord {
  const optionalNumber = (value: number | null): number | undefined => (value === null ? undefined : Number(value));
  return {
    id: row.id,
    prefix: row.prefix,
    environment: row.environment,
    keyHash: row.key_hash,
    hashScheme: row.hash_scheme === 'legacy-sha256' ? 'legacy-sha256' : 'hmac-sha256',
    pepperVersion: Number(row.pepper_version),
    name: row.name,
    ownerId: row.owner_id,
    permissions: JSON.parse(row.permissions) as string[],
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    rateLimit:
      row.rate_limit === null || row.rate_limit_window_ms === null
        ? undefined
        : { limit: Number(row.rate_limit), windowMs: Number(row.rate_limit_window_ms) },
    enabled: Number(row.is_enabled) === 1,
    disabledBy: row.disabled_by ?? undefined,
    disabledByAdmin: Number(row.disabled_by_admin) === 1,
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
    expiresAt: optionalNumber(row.expires_at),
    revokedAt: optionalNumber(row.revoked_at),
    revokedReason: row.revoked_reason ?? undefined,
    rotatedFrom: row.rotated_from ?? undefined,
    replacedBy: row.replaced_by ?? undefined,
    usageCount: Number(row.usage_count),
    lastUsedAt: optionalNumber(row.last_used_at),
    lastUsedIp: row.last_used_ip ?? undefined,
  };
}

/** A candidate for verification: the key row plus whether its owner is active. */
export interface VerificationCandidate {
  readonly record: ApiKeyRecord;
  readonly ownerActive: boolean;
}

/** Rows whose stored prefix matches (a `wdn_` key); normally one. */
export async function findByPrefix(db: Kysely<DatabaseSchema>, prefix: string): Promise<VerificationCandidate[]> {
  const rows = await db
    .selectFrom('api_keys')
    .innerJoin('users', 'users.id', 'api_keys.owner_id')
    .selectAll('api_keys')
    .select('users.is_active as owner_active')
    .where('api_keys.prefix', '=', prefix)
    .where('api_keys.environment', '!=', 'imported')
    .limit(10)
    .execute();
  return rows.map((row) => ({ record: toRecord(row), ownerActive: Number(row.owner_active) === 1 }));
}

/** An imported key by any of its possible lookup hashes. */
export async function findByLookupHash(db: Kysely<DatabaseSchema>, hashes: readonly string[]): Promise<VerificationCandidate[]> {
  if (hashes.length === 0) return [];
  const rows = await db
    .selectFrom('api_keys')
    .innerJoin('users', 'users.id', 'api_keys.owner_id')
    .selectAll('api_keys')
    .select('users.is_active as owner_active')
    .where('api_keys.lookup_hash', 'in', [...hashes])
    .orderBy('api_keys.created_at')
    .orderBy('api_keys.id')
    .limit(10)
    .execute();
  return rows.map((row) => ({ record: toRecord(row), ownerActive: Number(row.owner_active) === 1 }));
}

/**
 * Whether any key can be found by lookup hash at all (imported keys not in `wdn_` format):
 * one probe of the unique index, so the verifier can skip the lookup for junk values.
 */
export async function anyLookupHashKey(db: Kysely<DatabaseSchema>): Promise<boolean> {
  const row = await db.selectFrom('api_keys').select('id').where('lookup_hash', 'is not', null).limit(1).executeTakeFirst();
  return row !== undefined;
}

/** One key by id. */
export async function findById(db: Kysely<DatabaseSchema>, id: string): Promise<ApiKeyRecord | undefined> {
  const row = await db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
  return row === undefined ? undefined : toRecord(row);
}

/** Keys newest first, optionally of one owner; `before` is the cursor (created_at, id) of the last page's end. */
export async function listKeys(
  db: Kysely<DatabaseSchema>,
  options: { ownerId?: string | undefined; limit: number; before?: KeysetPosition | undefined },
): Promise<ApiKeyRecord[]> {
  let query = db.selectFrom('api_keys').selectAll();
  if (options.ownerId !== undefined) query = query.where('owner_id', '=', options.ownerId);
  const before = options.before;
  if (before !== undefined) {
    query = query.where((eb) =>
      eb.or([eb('created_at', '<', before.createdAt), eb.and([eb('created_at', '=', before.createdAt), eb('id', '<', before.id)])]),
    );
  }
  const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(options.limit).execute();
  return rows.map(toRecord);
}

/** Where a key stands at `now`, as the API, `warden keys list` and `warden keys show` report it. */
export type KeyStatus = 'revoked' | 'expired' | 'disabled' | 'rotating' | 'active';

/**
 * Whether a key has stopped at `now`: revoked outright (whatever the clock that stamped it says:
 * a revoking process whose clock runs ahead must not leave the key working here meanwhile), or
 * past the end of its rotation grace period.
 */
export function isRevoked(record: ApiKeyRecord, now: number): boolean {
  return record.revokedReason === 'revoked' || (record.revokedAt !== undefined && record.revokedAt <= now);
}

/** When a usable key stops working: its expiry or the end of its rotation grace, whichever is first; undefined = never. */
export function keyStopsAt(record: ApiKeyRecord): number | undefined {
  if (record.expiresAt === undefined) return record.revokedAt;
  return record.revokedAt === undefined ? record.expiresAt : Math.min(record.expiresAt, record.revokedAt);
}

/** The status of a key at `now`: an ended key is revoked or expired whatever else holds; a rotated one is `rotating` until its grace ends. */
export function keyStatus(record: ApiKeyRecord, now: number): KeyStatus {
  if (isRevoked(record, now)) return 'revoked';
  if (record.expiresAt !== undefined && record.expiresAt <= now) return 'expired';
  if (!record.enabled) return 'disabled';
  return record.revokedAt !== undefined ? 'rotating' : 'active';
}
