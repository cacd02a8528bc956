import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditRecorder } from '../audit/audit-event.js';
import { anyCovers, isPermission } from '../authz/permission-match.js';
import { hasUnshowableCharacters } from '../authz/names.js';
import type { InvalidationBus } from '../cache/invalidation-bus.js';
import type { DatabaseSchema } from '../storage/index.js';
import { looksLikeWardenKey, parseApiKey } from './key-format.js';
import type { PepperKeyring } from './pepper-keyring.js';
import type { ApiKeysTable } from './apikey-tables.js';

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
  /** Where the entry is in the input (its line), for the problems reported; else its position among the entries. */
  readonly line?: number;
}

export interface ImportReport {
  readonly imported: number;
  readonly skipped: number;
  /** One line per refused entry: its position and why (never the key). */
  readonly problems: readonly string[];
}

/**
 * The prefix shown for an imported key: its first eighth, at most 8 characters, and none below
 * 32. Any `keys:read` holder sees it, and nothing says how much of a foreign key is random, so
 * it gives away no larger share of the key than a `wdn_` key's prefix does of its own.
 */
export function importedPrefix(key: string): string {
  return key.length >= 32 ? key.slice(0, Math.min(8, Math.floor(key.length / 8))) : '';
}

/** What an import fingerprint is computed from: the entry's legacy hash, or its plain key. */
export type ImportMaterial = { readonly sha256: string } | { readonly key: string };

/**
 * Names one pepper for fingerprints: its version and a digest of the pepper itself, because
 * version 1 changes value when WARDEN_SECRET_KEY is rotated and a fingerprint made under the
 * old value could then no longer be recognised; telling them apart lets the import fail closed.
 */
function pepperTag(keyring: PepperKeyring, version: number): string {
  return `${version}.${(keyring.hash('warden:import-fingerprint:pepper-tag', version) as string).slice(0, 12)}`;
}

/**
 * The permanent mark of an imported entry under one pepper version (stored in
 * `import_fingerprint`): keyed like every stored hash, separate from `key_hash`, which the first
 * use replaces, so that a re-run import recognises the key whatever happened to it since.
 */
export function importFingerprint(keyring: PepperKeyring, version: number, material: ImportMaterial): string {
  const input = 'sha256' in material ? `sha256:${material.sha256.toLowerCase()}` : `key:${material.key}`;
  return `${pepperTag(keyring, version)}:${keyring.hash(`warden:import-fingerprint:${input}`, version) as string}`;
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
 * on first successful use. Duplicates are skipped, whether the earlier copy was used, upgraded,
 * disabled or revoked since. Entry `n` refers to its position (1-based).
 */
export async function importKeys(entries: readonly ImportEntry[], deps: ImportDependencies): Promise<ImportReport> {
  const now = (deps.now ?? Date.now)();
  const problems: string[] = [];
  let imported = 0;
  let skipped = 0;
  const owners = new Set(
    (await deps.db.selectFrom('users').select('id').where('id', 'in', [...new Set(entries.map((e) => e.ownerId)), '']).execute()).map((r) => r.id),
  );
  // Fail closed: a fingerprint made under a pepper this keyring no longer has cannot be
  // recomputed, so a revoked key imported under it would come back as a fresh one.
  const unrecognisable = await fingerprintsUnderUnknownPeppers(deps.db, deps.keyring);
  for (const [index, entry] of entries.entries()) {
    const where = entry.line === undefined ? `entry ${index + 1}` : `line ${entry.line}`;
    if (unrecognisable) {
      problems.push(`${where}: duplicates cannot be ruled out: keys were imported under a pepper that is no longer configured (see docs/api-keys.md)`);
      continue;
    }
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
    let row: Pick<ApiKeysTable, 'prefix' | 'environment' | 'key_hash' | 'hash_scheme' | 'pepper_version' | 'lookup_hash'> & { import_fingerprint: string };
    let material: ImportMaterial;
    if (entry.key !== undefined) {
      material = { key: entry.key };
      const hash = deps.keyring.hash(entry.key, version) as string;
      const parsed = looksLikeWardenKey(entry.key) ? parseApiKey(entry.key) : undefined;
      const fingerprint = importFingerprint(deps.keyring, version, material);
      row =
        parsed !== undefined
          ? { prefix: parsed.prefix, environment: parsed.environment, key_hash: hash, hash_scheme: 'hmac-sha256', pepper_version: version, lookup_hash: null, import_fingerprint: fingerprint }
          : { prefix: importedPrefix(entry.key), environment: 'imported', key_hash: hash, hash_scheme: 'hmac-sha256', pepper_version: version, lookup_hash: hash, import_fingerprint: fingerprint };
    } else {
      const hash = (entry.sha256 as string).toLowerCase();
      material = { sha256: hash };
      row = { prefix: '', environment: 'imported', key_hash: hash, hash_scheme: 'legacy-sha256', pepper_version: 0, lookup_hash: hash, import_fingerprint: importFingerprint(deps.keyring, version, material) };
    }
    if (await isImported(deps.db, deps.keyring, material)) {
      skipped += 1;
      continue;
    }
    const id = randomUUID();
    const inserted = await deps.db
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
        disabled_by_admin: 0,
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
      .execute()
      .then(
        () => true,
        async (error: unknown) => {
          // Another import of the same entry committed since the check (the unique indexes
          // refused this row): that is a duplicate too. Anything else is a real failure.
          if (await isImported(deps.db, deps.keyring, material)) return false;
          throw error;
        },
      );
    if (!inserted) {
      skipped += 1;
      continue;
    }
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

/**
 * Whether an entry was imported before, in any state (revoked and disabled included): by its
 * fingerprint under every pepper version, and, for rows that predate fingerprints, by its
 * hash as the row may still hold it (a plain key's HMAC under any version; a legacy hash not
 * yet upgraded).
 */
async function isImported(db: Kysely<DatabaseSchema>, keyring: PepperKeyring, material: ImportMaterial): Promise<boolean> {
  const fingerprints = keyring.versions.map((v) => importFingerprint(keyring, v, material));
  const found = await db
    .selectFrom('api_keys')
    .select('id')
    .where((eb) => {
      const byFingerprint = eb('import_fingerprint', 'in', fingerprints);
      if ('sha256' in material) return eb.or([byFingerprint, eb('lookup_hash', '=', material.sha256.toLowerCase())]);
      const hashes = keyring.versions.map((v) => keyring.hash(material.key, v) as string);
      const parsed = looksLikeWardenKey(material.key) ? parseApiKey(material.key) : undefined;
      // A `wdn_` key is stored without a lookup hash and found by its (indexed) prefix.
      const byHash = parsed === undefined ? eb('lookup_hash', 'in', hashes) : eb.and([eb('prefix', '=', parsed.prefix), eb('key_hash', 'in', hashes)]);
      return eb.or([byFingerprint, byHash]);
    })
    .limit(1)
    .executeTakeFirst();
  return found !== undefined;
}

/** Whether any key carries a fingerprint made under a pepper (version and value) this keyring does not have. */
async function fingerprintsUnderUnknownPeppers(db: Kysely<DatabaseSchema>, keyring: PepperKeyring): Promise<boolean> {
  const tags = keyring.versions.map((v) => pepperTag(keyring, v));
  const found = await db
    .selectFrom('api_keys')
    .select('id')
    .where('import_fingerprint', 'is not', null)
    // Tags are digits, '.' and hex: nothing LIKE treats as a wildcard.
    .where((eb) => eb.and(tags.map((tag) => eb('import_fingerprint', 'not like', `${tag}:%`))))
    .limit(1)
    .executeTakeFirst();
  return found !== undefined;
}

function checkEntry(entry: ImportEntry, owners: ReadonlySet<string>): string | undefined {
  if ((entry.key === undefined) === (entry.sha256 === undefined)) return 'needs exactly one of key or sha256';
  if (entry.key !== undefined) {
    if (looksLikeWardenKey(entry.key) && parseApiKey(entry.key) === undefined) return 'a wdn_ key with a wrong checksum';
    if (!/^[\x21-\x7e]{16,512}$/.test(entry.key)) return 'the key must be 16–512 printable characters without spaces';
  }
  if (entry.sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(entry.sha256)) return 'sha256 must be 64 hex characters';
  if (typeof entry.name !== 'string' || entry.name.trim() === '') return 'needs a name';
  if (entry.name.length > 200) return 'the name must be at most 200 characters';
  if (hasUnshowableCharacters(entry.name)) return 'the name must not contain control characters or bidirectional controls';
  if (!owners.has(entry.ownerId)) return 'owner_id does not name an existing user';
  if (!Array.isArray(entry.permissions) || !entry.permissions.every((p) => typeof p === 'string' && isPermission(p))) return 'permissions must be resource:action strings';
  return undefined;
}
