import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditRecorder } from '../audit/audit-event.js';
import { anyCovers, isPermission } from '../authz/permission-match.js';
import type { InvalidationBus } from '../cache/invalidation-bus.js';
import type { DatabaseSchema } from '../storage/index.js';
import { looksLikeWardenKey, parseApiKey } from './key-format.js';
import type { PepperKeyring } from './pepper-keyring.js';

/**
 * One key from an older store: either the plain key (`key`) or the hex SHA-256 of the fixed
 * salt followed by the key (`sha256`, the TTSKit scheme; needs WARDEN_API_KEY_LEGACY_SALT at
 * verification time).
 */
export interface ImportEntry {
  readonly key?: string;
  readonly sha256?: string;
  readonly name: string;
  readonly ownerId: string;
  readonly permissions: readonly string[];
  readonly expiresAt?: number | undefined;
}

export interface ImportReport {
  readonly imported: number;
  readonly skipped: number;
  /** One line per refused entry: its position and why (never the key). */
  readonly problems: readonly string[];
}

/** The prefix shown for an imported key: its first 8 characters, only for keys long enough to spare them. */
export function importedPrefix(key: string): string {
  return key.length >= 32 ? key.slice(0, 8) : '';
}

export interface ImportDependencies {
  readonly db: Kysely<DatabaseSchema>;
  readonly keyring: PepperKeyring;
  readonly invalidation?: InvalidationBus | undefined;
  /** Each imported key is recorded as `apikey.created` (details: imported, prefix, permissions). */
  readonly audit?: AuditRecorder | undefined;
  /** The owner's effective permissions: an entry carrying more is refused, as `create` refuses it. */
  readonly ownerPermissions?: ((ownerId: string) => Promise<readonly string[] | undefined>) | undefined;
  readonly actor: string;
  readonly now?: () => number;
}

/**
 * Imports keys so they keep verifying. Plain keys are hashed at once with the active pepper
 * (the plain value is never stored); salted SHA-256 rows are stored as they are and upgraded
 * on first successful use. Duplicates are skipped. Entry `n` refers to its position (1-based).
 */
export async function importKeys(entries: readonly ImportEntry[], deps: ImportDependencies): Promise<ImportReport> {
  const now = (deps.now ?? Date.now)();
  const problems: string[] = [];
  let imported = 0;
  let skipped = 0;
  const owners = new Set(
    (await deps.db.selectFrom('users').select('id').where('id', 'in', [...new Set(entries.map((e) => e.ownerId)), '']).execute()).map((r) => r.id),
  );
  for (const [index, entry] of entries.entries()) {
    const where = `entry ${index + 1}`;
    const problem = checkEntry(entry, owners);
    if (problem !== undefined) {
      problems.push(`${where}: ${problem}`);
      continue;
    }
    const held = await deps.ownerPermissions?.(entry.ownerId);
    const beyond = held === undefined ? [] : entry.permissions.filter((p) => !anyCovers(held, p));
    if (beyond.length > 0) {
      problems.push(`${where}: carries ${beyond.join(', ')}, which its owner does not hold`);
      continue;
    }
    const version = deps.keyring.activeVersion;
    let row: { prefix: string; environment: string; key_hash: string; hash_scheme: string; pepper_version: number; lookup_hash: string | null };
    if (entry.key !== undefined) {
      const hash = deps.keyring.hash(entry.key, version) as string;
      const parsed = looksLikeWardenKey(entry.key) ? parseApiKey(entry.key) : undefined;
      row =
        parsed !== undefined
          ? { prefix: parsed.prefix, environment: parsed.environment, key_hash: hash, hash_scheme: 'hmac-sha256', pepper_version: version, lookup_hash: null }
          : { prefix: importedPrefix(entry.key), environment: 'imported', key_hash: hash, hash_scheme: 'hmac-sha256', pepper_version: version, lookup_hash: hash };
    } else {
      const hash = (entry.sha256 as string).toLowerCase();
      row = { prefix: '', environment: 'imported', key_hash: hash, hash_scheme: 'legacy-sha256', pepper_version: 0, lookup_hash: hash };
    }
    const duplicate = await deps.db
      .selectFrom('api_keys')
      .select('id')
      .where((eb) => (row.lookup_hash === null ? eb('key_hash', '=', row.key_hash) : eb('lookup_hash', '=', row.lookup_hash)))
      .executeTakeFirst();
    if (duplicate !== undefined) {
      skipped += 1;
      continue;
    }
    const id = randomUUID();
    await deps.db
      .insertInto('api_keys')
      .values({
        id,
        ...row,
        name: entry.name,
        owner_id: entry.ownerId,
        permissions: JSON.stringify([...new Set(entry.permissions)]),
        metadata: JSON.stringify({ imported: true }),
        rate_limit: null,
        rate_limit_window_ms: null,
        is_enabled: 1,
        created_by: deps.actor,
        created_at: now,
        updated_at: now,
        expires_at: entry.expiresAt ?? null,
        revoked_at: null,
        revoked_reason: null,
        rotated_from: null,
        replaced_by: null,
        usage_count: 0,
        last_used_at: null,
        last_used_ip: null,
      })
      .execute();
    imported += 1;
    await deps.audit?.record({
      action: 'apikey.created',
      actor: deps.actor,
      entity_type: 'api_key',
      entity_id: id,
      outcome: 'success',
      details: { imported: true, prefix: row.prefix, permissions: [...new Set(entry.permissions)] },
    });
  }
  // A key looked up before its import may be cached as "not found".
  if (imported > 0) await deps.invalidation?.publish({ topic: 'apikey', id: '*' });
  return { imported, skipped, problems };
}

function checkEntry(entry: ImportEntry, owners: ReadonlySet<string>): string | undefined {
  if ((entry.key === undefined) === (entry.sha256 === undefined)) return 'needs exactly one of key or sha256';
  if (entry.key !== undefined) {
    if (looksLikeWardenKey(entry.key) && parseApiKey(entry.key) === undefined) return 'a wdn_ key with a wrong checksum';
    if (!/^[\x21-\x7e]{16,512}$/.test(entry.key)) return 'the key must be 16–512 printable characters without spaces';
  }
  if (entry.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(entry.sha256)) return 'sha256 must be 64 hex characters';
  if (typeof entry.name !== 'string' || entry.name.trim() === '') return 'needs a name';
  if (!owners.has(entry.ownerId)) return 'owner_id does not name an existing user';
  if (!Array.isArray(entry.permissions) || !entry.permissions.every((p) => typeof p === 'string' && isPermission(p))) return 'permissions must be resource:action strings';
  return undefined;
}
