import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '../crypto/constant-time.js';
import { ConfigError } from '../errors/index.js';
import type { Storage } from '../storage/index.js';

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
