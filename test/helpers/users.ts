import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DatabaseSchema } from '../../src/storage/index.js';

/**
 * Inserts a user row directly (no password policy, no hashing, no audit), for tests of
 * domains that only need a user to exist. Active and not admin unless told; returns the id.
 */
export async function insertTestUser(db: Kysely<DatabaseSchema>, options: { isActive?: boolean; isAdmin?: boolean } = {}): Promise<string> {
  const id = randomUUID();
  const now = Date.now();
  await db
    .insertInto('users')
    .values({
      id,
      email: `${id}@example.test`,
      email_lookup: `lookup-${id}`,
      name: null,
      password_hash: 'not-a-real-hash',
      is_active: options.isActive === false ? 0 : 1,
      is_admin: options.isAdmin === true ? 1 : 0,
      created_at: now,
      updated_at: now,
      password_changed_at: now,
    })
    .execute();
  return id;
}
