import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { DatabaseSchema } from '../storage/index.js';
import { hashEvent, signCheckpoint, type UnhashedEvent } from './canonical-form.js';
import type { AuditEventsTable } from './audit-tables.js';

/** An event ready to be chained: everything but its position and hashes. */
export type PreparedEvent = Omit<UnhashedEvent, 'seq' | 'prev_hash'>;

/** Where the chain ends after an append. */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

/** Rows per INSERT statement: well below SQLite's and PostgreSQL's bound-parameter limits. */
const ROWS_PER_STATEMENT = 500;

/**
 * Locks the chain head for the rest of the transaction and returns it. The UPDATE takes a
 * row lock on PostgreSQL (a second instance waits here and then sees the committed head,
 * READ COMMITTED re-reads the row) and the database write lock on SQLite.
 */
export async function lockChainHead(trx: Transaction<DatabaseSchema>, now: number): Promise<ChainHead> {
  const head = await trx
    .updateTable('audit_chain_head')
    .set({ updated_at: now })
    .where('id', '=', 'head')
    .returning(['seq', 'hash'])
    .executeTakeFirst();
  if (head === undefined) throw new Error('the audit chain head row is missing (is migration 0003_audit applied?)');
  return { seq: Number(head.seq), hash: head.hash };
}

/** Appends events after the locked head, inside the caller's transaction; returns the new head. */
export async function appendLocked(
  trx: Transaction<DatabaseSchema>,
  head: ChainHead,
  events: readonly PreparedEvent[],
): Promise<ChainHead> {
  let seq = head.seq;
  let prev = head.hash;
  const rows: AuditEventsTable[] = events.map((event) => {
    seq += 1;
    const unhashed: UnhashedEvent = { ...event, seq, prev_hash: prev };
    prev = hashEvent(unhashed);
    return { ...unhashed, hash: prev };
  });
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    await trx.insertInto('audit_events').values(rows.slice(i, i + ROWS_PER_STATEMENT)).execute();
  }
  if (rows.length > 0) await trx.updateTable('audit_chain_head').set({ seq, hash: prev }).where('id', '=', 'head').execute();
  return { seq, hash: prev };
}

/** Stores an HMAC-signed checkpoint of `head` inside the caller's transaction. */
export async function insertCheckpoint(
  trx: Transaction<DatabaseSchema>,
  key: Uint8Array,
  checkpoint: { seq: number; hash: string; kind: 'head' | 'prune'; now: number },
): Promise<void> {
  const unsigned = { id: randomUUID(), seq: checkpoint.seq, hash: checkpoint.hash, created_at: checkpoint.now, kind: checkpoint.kind };
  await trx
    .insertInto('audit_checkpoints')
    .values({ ...unsigned, signature: signCheckpoint(key, unsigned) })
    .execute();
}

export interface AppendOptions {
  readonly now: number;
  /** Also store a signed checkpoint of the new head with this key. */
  readonly checkpointKey?: Uint8Array;
}

/** Appends events as one committed transaction (the chain stays one chain across instances). */
export function appendEvents(db: Kysely<DatabaseSchema>, events: readonly PreparedEvent[], options: AppendOptions): Promise<ChainHead> {
  return db.transaction().execute(async (trx) => {
    const head = await appendLocked(trx, await lockChainHead(trx, options.now), events);
    if (options.checkpointKey !== undefined && head.seq > 0) {
      await insertCheckpoint(trx, options.checkpointKey, { ...head, kind: 'head', now: options.now });
    }
    return head;
  });
}

/** Stores a signed checkpoint of the current head (nothing when the chain is empty). */
export function checkpointHead(db: Kysely<DatabaseSchema>, key: Uint8Array, now: number): Promise<ChainHead> {
  return db.transaction().execute(async (trx) => {
    const head = await lockChainHead(trx, now);
    if (head.seq > 0) await insertCheckpoint(trx, key, { ...head, kind: 'head', now });
    return head;
  });
}
