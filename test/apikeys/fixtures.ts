import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DatabaseSchema } from '../../src/storage/index.js';

/** Inserts a user (active, not admin unless told) and returns its id. */
export async function insertUser(db: Kysely<DatabaseSchema>, options: { active?: boolean; admin?: boolean } = {}): Promise<string> {
  const id = randomUUID();
  const now = Date.now();
  await db
    .insertInto('users')
    .values({
      id,
      email: `${id}@example.test`,
      email_lookup: `lookup-${id}`,
      name: 'Test User',
      password_hash: 'not-a-real-hash',
      is_active: options.active === false ? 0 : 1,
      is_admin: options.admin === true ? 1 : 0,
      created_at: now,
      updated_at: now,
      password_changed_at: now,
    })
    .execute();
  return id;
}

/** A clock tests move by hand. */
export function manualClock(start = Date.UTC(2026, 0, 1)): { now: () => number; advance: (ms: number) => void } {
  let at = start;
  return { now: () => at, advance: (ms) => void (at += ms) };
}

/** Changes one character of a key (never to the same character). */
export function withTypo(key: string, index: number): string {
  const c = key[index] as string;
  const replacement = c === 'a' ? 'b' : 'a';
  return key.slice(0, index) + replacement + key.slice(index + 1);
}
