import type { Kysely } from 'kysely';
import { constantTimeEqual } from '../crypto/constant-time.js';
import type { DatabaseSchema } from '../storage/index.js';
import { GENESIS_HASH, hashEvent, signCheckpoint } from './canonical-form.js';

/** Why verification stopped. */
export type ChainBreakReason =
  | 'checkpoint_signature_invalid'
  | 'missing_event'
  | 'hash_mismatch'
  | 'prev_hash_mismatch'
  | 'checkpoint_mismatch'
  | 'truncated_tail'
  | 'head_mismatch';

export interface ChainBreak {
  /** The event (or checkpoint, for a bad signature) at which the chain breaks; null when it is missing. */
  readonly id: string | null;
  readonly seq: number | null;
  readonly reason: ChainBreakReason;
}

export interface VerifyReport {
  readonly valid: boolean;
  readonly checked_events: number;
  readonly checked_checkpoints: number;
  /** Where the verified chain starts (1, or after the last prune checkpoint). */
  readonly first_seq: number;
  readonly last_seq: number;
  readonly first_broken: ChainBreak | null;
}

/**
 * A prune commits its own checkpoint and deletes the rows before it; one that lands while a
 * verification is reading makes the rows that verification set out from vanish. Each retry is
 * a whole new verification, so nothing it would have caught goes unchecked.
 */
const MAX_ATTEMPTS = 3;

/**
 * Walks the chain from its start (seq 1, or the newest signed prune checkpoint) in seq order
 * and reports the first broken link: a row whose content does not hash to its stored hash
 * (edited), a gap in seq (deleted), a prev_hash that is not its predecessor's hash
 * (reordered/swapped), a signed checkpoint the chain contradicts or no longer reaches
 * (truncated tail), or a head row that disagrees with the last event.
 *
 * It covers the chain up to the head row read at its start: events committed while it runs
 * come after that head and are left to the next verification, so a busy server verifies as
 * valid instead of looking truncated.
 */
export async function verifyChain(
  db: Kysely<DatabaseSchema>,
  options: { checkpointKey: Uint8Array; pageSize?: number },
): Promise<VerifyReport> {
  for (let attempt = 1; ; attempt += 1) {
    const report = await verifyOnce(db, options);
    if (report.valid || report.first_broken?.reason !== 'missing_event' || attempt === MAX_ATTEMPTS) return report;
    // Only a prune newer than the one this attempt started from explains a missing row innocently.
    const newestPrune = await db
      .selectFrom('audit_checkpoints')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .where('kind', '=', 'prune')
      .executeTakeFirst();
    if (newestPrune?.seq === null || newestPrune?.seq === undefined || Number(newestPrune.seq) < report.first_seq) return report;
  }
}

async function verifyOnce(db: Kysely<DatabaseSchema>, options: { checkpointKey: Uint8Array; pageSize?: number }): Promise<VerifyReport> {
  const pageSize = options.pageSize ?? 1000;
  // Checkpoints first, then the head: an append moves the head in the transaction that stores
  // its checkpoint, so every genuine checkpoint read here is at or below the head read next.
  // (Read the other way round, a checkpoint committed in between would look like a truncated tail.)
  const checkpoints = await db.selectFrom('audit_checkpoints').selectAll().orderBy('seq', 'asc').orderBy('created_at', 'asc').execute();
  const head = await db.selectFrom('audit_chain_head').select(['seq', 'hash']).where('id', '=', 'head').executeTakeFirst();
  // Everything at or below the head was committed with it and never changes afterwards; rows
  // above it are appends that committed after this point and belong to the next verification.
  const lastSeq = head === undefined ? undefined : Number(head.seq);
  const expectedHashAt = new Map<number, string>();
  let start = { seq: 1, prev: GENESIS_HASH };
  let report = { checked_events: 0, checked_checkpoints: 0, first_seq: 1, last_seq: 0 };
  const broken = (brk: ChainBreak): VerifyReport => ({ valid: false, ...report, first_broken: brk });

  for (const checkpoint of checkpoints) {
    const expected = signCheckpoint(options.checkpointKey, checkpoint);
    if (!constantTimeEqual(expected, checkpoint.signature)) {
      return broken({ id: checkpoint.id, seq: Number(checkpoint.seq), reason: 'checkpoint_signature_invalid' });
    }
    report.checked_checkpoints += 1;
    const seq = Number(checkpoint.seq);
    expectedHashAt.set(seq, checkpoint.hash);
    if (checkpoint.kind === 'prune' && seq + 1 > start.seq) start = { seq: seq + 1, prev: checkpoint.hash };
  }
  report = { ...report, first_seq: start.seq, last_seq: start.seq - 1 };

  let expectedSeq = start.seq;
  let prev = start.prev;
  for (;;) {
    let query = db.selectFrom('audit_events').selectAll().where('seq', '>=', expectedSeq);
    // Without a head row there is nothing to bound by; the walk reads every row and fails below.
    if (lastSeq !== undefined) query = query.where('seq', '<=', lastSeq);
    const page = await query.orderBy('seq', 'asc').limit(pageSize).execute();
    for (const row of page) {
      const seq = Number(row.seq);
      if (seq !== expectedSeq) return broken({ id: null, seq: expectedSeq, reason: 'missing_event' });
      if (hashEvent(row) !== row.hash) return broken({ id: row.id, seq, reason: 'hash_mismatch' });
      if (row.prev_hash !== prev) return broken({ id: row.id, seq, reason: 'prev_hash_mismatch' });
      const pinned = expectedHashAt.get(seq);
      if (pinned !== undefined && pinned !== row.hash) return broken({ id: row.id, seq, reason: 'checkpoint_mismatch' });
      prev = row.hash;
      expectedSeq += 1;
      report.checked_events += 1;
      report.last_seq = seq;
    }
    if (page.length < pageSize) break;
  }

  const lastCheckpointSeq = checkpoints.reduce((max, c) => Math.max(max, Number(c.seq)), 0);
  if (lastCheckpointSeq > report.last_seq) return broken({ id: null, seq: report.last_seq + 1, reason: 'truncated_tail' });
  // A head beyond the last row (tail deleted, no checkpoint yet) ends the walk early and fails here.
  if (head === undefined || lastSeq !== report.last_seq || (report.last_seq >= start.seq && head.hash !== prev)) {
    return broken({ id: null, seq: report.last_seq + 1, reason: 'head_mismatch' });
  }
  return { valid: true, ...report, first_broken: null };
}
