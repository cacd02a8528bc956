import type { Kysely } from 'kysely';
import type { DatabaseSchema } from '../../src/storage/index.js';
import { insertTestUser } from '../helpers/users.js';

/** Inserts a user (active, not admin unless told) and returns its id. */
export function insertUser(db: Kysely<DatabaseSchema>, options: { active?: boolean; admin?: boolean } = {}): Promise<string> {
  return insertTestUser(db, { isActive: options.active, isAdmin: options.admin });
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
