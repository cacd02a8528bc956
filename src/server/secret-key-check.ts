import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '../crypto/constant-time.js';
import { ConfigError } from '../errors/index.js';
import type { Settings } from '../config/index.js';
import { migrateToLatest, openDatabase, type Storage } from '../storage/index.js';

const STATE_KEY = 'secret_key_check';

/**
 * Refuses to run with a different root secret than the one the database was first used
 * with: tokens, key hashes and encrypted fields derived from it would silently stop working.
 * Stores only an HMAC of a fixed label, never the key.
 */
export async function checkSecretKeyFingerprint(storage: Storage, secretKey: string, now = Date.now()): Promise<void> {
  const fingerprint = createHmac('sha256', secretKey).update('warden:secret-key-check:v1').digest('hex');
  const row = await storage.db.selectFrom('system_state').select('value').where('key', '=', STATE_KEY).executeTakeFirst();
  if (row === undefined) {
    await storage.db
      .insertInto('system_state')
      .values({ key: STATE_KEY, value: fingerprint, updated_at: now })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    return;
  }
  if (!constantTimeEqual(row.value, fingerprint)) {
    throw new ConfigError([
      'WARDEN_SECRET_KEY differs from the key this database was initialised with: restore the original key (see docs/operations.md for rotation)',
    ]);
  }
}

/**
 * Opens the configured database on a connection of its own, applies pending migrations when
 * `migrate` is set, runs the root-secret fingerprint check (a ConfigError, exit 78, when the key
 * differs from the one the database was initialised with), then `work`, and closes it. Used
 * before a service context exists: closing a context writes an audit head checkpoint signed
 * with its key, so a refusal must never have opened one with a foreign key.
 */
export async function withCheckedDatabase<T>(
  settings: Settings,
  secretKey: string,
  work: (storage: Storage, appliedMigrations: readonly string[]) => Promise<T>,
  options: { migrate?: boolean } = {},
): Promise<T> {
  const storage = openDatabase(settings.databaseUrl, { poolSize: 2, statementTimeoutMs: settings.dbStatementTimeoutMs });
  try {
    await storage.ping();
    const applied = options.migrate === true ? await migrateToLatest(storage) : [];
    await checkSecretKeyFingerprint(storage, secretKey);
    return await work(storage, applied);
  } finally {
    await storage.close();
  }
}
