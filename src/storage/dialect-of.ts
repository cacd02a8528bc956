import { PostgresAdapter, type Kysely } from 'kysely';
import type { DialectName } from './migration.js';

/**
 * The engine a Kysely instance (or transaction) talks to. Services receive only `db`, and the
 * few statements that differ by engine (PostgreSQL's advisory locks) must not depend on every
 * caller also passing Storage.dialect along: a service built on PostgreSQL without it would
 * silently lose its locks.
 */
export function dialectOf(db: Pick<Kysely<unknown>, 'getExecutor'>): DialectName {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}
