import type { Kysely } from 'kysely';

/** Which SQL engine a database runs on. */
export type DialectName = 'sqlite' | 'postgres';

/** One versioned schema change. Names sort in the order they are applied ("0001_core"). */
export interface WardenMigration {
  readonly name: string;
  // Migrations describe schemas that are not yet part of DatabaseSchema, so they work on
  // an untyped Kysely instance (Kysely's own migration convention).
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  up(db: Kysely<any>, dialect: DialectName): Promise<void>;
}
