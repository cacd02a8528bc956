import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '../crypto/constant-time.js';
import { ConfigError, WardenError } from '../errors/index.js';
import type { Settings } from '../config/index.js';
import { openDatabase, type Storage } from '../storage/index.js';
import { migrateDatabase, migrationStatementTimeoutMs, requireMigrated, unknownMigrationsWarning, type MigrationOutcome } from '../storage/migrate.js';

const STATE_KEY = 'secret_key_check';

/**
 * Refuses to run with a different root secret than the one the database was first used
 * with: tokens, key hashes and encrypted fields derived from it would silently stop working.
 * Stores only an HMAC of a fixed label, never the key.
 */
export async function checkSecretKeyFingerprint(storage: Storage, secretKey: string, now = Date.now()): Promise<void> {
  const fingerprint = createHmac('sha256', secretKey).update('warden:secret-key-check:v1').digest('hex');
  const read = async (): Promise<string | undefined> =>
    (await storage.db.selectFrom('system_state').select('value').where('key', '=', STATE_KEY).executeTakeFirst())?.value;
  let stored = await read();
  if (stored === undefined) {
    await storage.db
      .insertInto('system_state')
      .values({ key: STATE_KEY, value: fingerprint, updated_at: now })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    // Read back rather than assume ours was stored: a concurrent first start (or CLI command)
    // with another key may have inserted first, and then this one must be refused.
    stored = await read();
    if (stored === undefined) throw new WardenError('internal_error', 'the root-secret fingerprint was not found right after it was stored');
  }
  if (!constantTimeEqual(stored, fingerprint)) {
    throw new ConfigError([
      'WARDEN_SECRET_KEY differs from the key this database was initialised with: restore the original key (see docs/operations.md for rotation)',
    ]);
  }
}

/** What withCheckedDatabase does besides the fingerprint check. */
export interface CheckedDatabaseOptions {
  /** Apply pending migrations first; otherwise refuse (SchemaNotMigratedError) when any is pending. */
  readonly migrate?: boolean;
  /** Told, in one line, when the database has migrations of a newer build (see unknownMigrationsWarning). */
  readonly warn?: (line: string) => void;
}

/**
 * Opens the configured database on a connection of its own, applies pending migrations when
 * `migrate` is set (else requires none to be pending: a SchemaNotMigratedError, exit 1), runs
 * the root-secret fingerprint check (a ConfigError, exit 78, when the key differs from the one
 * the database was initialised with), then `work`, and closes it. Used before a service
 * context exists: closing a context writes an audit head checkpoint signed with its key, so a
 * refusal must never have opened one with a foreign key.
 */
export async function withCheckedDatabase<T>(
  settings: Settings,
  secretKey: string,
  work: (storage: Storage, migrations: MigrationOutcome) => Promise<T>,
  options: CheckedDatabaseOptions = {},
): Promise<T> {
  const statementTimeoutMs = options.migrate === true ? migrationStatementTimeoutMs(settings.databaseUrl, settings.dbStatementTimeoutMs) : settings.dbStatementTimeoutMs;
  const storage = openDatabase(settings.databaseUrl, { poolSize: 2, statementTimeoutMs });
  try {
    await storage.ping();
    // Checked before the fingerprint: on a database never migrated its table does not exist.
    const migrations = options.migrate === true ? await migrateDatabase(storage) : await requireMigrated(storage);
    if (migrations.unknown.length > 0) options.warn?.(unknownMigrationsWarning(migrations.unknown));
    await checkSecretKeyFingerprint(storage, secretKey);
    return await work(storage, migrations);
  } finally {
    await storage.close();
  }
}
