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
 * Walks the chain from its start (seq 1, or the newest signed prune checkpoint) in seq order
 * and reports the first broken link: a row whose content does not hash to its stored hash
 * (edited), a gap in seq (deleted), a prev_hash that is not its predecessor's hash
 * (reordered/swapped), a signed checkpoint the chain contradicts or no longer reaches
 * (truncated tail), or a head row that disagrees with the last event.
 */
export async function verifyChain(
  db: Kysely<DatabaseSchema>,
  options: { checkpointKey: Uint8Array; pageSize?: number },
): Promise<VerifyReport> {
  const pageSize = options.pageSize ?? 1000;
  const checkpoints = await db.selectFrom('audit_checkpoints').selectAll().orderBy('seq', 'asc').orderBy('created_at', 'asc').execute();
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
    const page = await db
      .selectFrom('audit_events')
      .selectAll()
      .where('seq', '>=', expectedSeq)
      .orderBy('seq', 'asc')
      .limit(pageSize)
      .execute();
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
  const head = await db.selectFrom('audit_chain_head').select(['seq', 'hash']).where('id', '=', 'head').executeTakeFirst();
  if (head === undefined || Number(head.seq) !== report.last_seq || (report.last_seq >= start.seq && head.hash !== prev)) {
    return broken({ id: null, seq: report.last_seq + 1, reason: 'head_mismatch' });
  }
  return { valid: true, ...report, first_broken: null };
}
