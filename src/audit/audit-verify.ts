import type { Kysely } from 'kysely';
import { constantTimeEqual } from '../crypto/constant-time.js';
import type { DatabaseSchema } from '../storage/index.js';
import type { AuditCheckpointsTable } from './audit-tables.js';
import { ACKNOWLEDGED_ACTION, ACKNOWLEDGEMENT_ENTITY, acknowledgedMarks } from './audit-acknowledge.js';
import { classifyHead } from './audit-chain.js';
import { GENESIS_HASH, hashEvent, signCheckpoint } from './canonical-form.js';

/** Why verification stopped. */
export type ChainBreakReason =
  | 'checkpoint_signature_invalid'
  | 'missing_event'
  | 'hash_mismatch'
  | 'prev_hash_mismatch'
  | 'checkpoint_mismatch'
  | 'truncated_tail'
  | 'head_mismatch'
  | 'checkpoint_missing'
  | 'head_unsigned'
  | 'head_signature_invalid'
  | 'unexpected_event';

export interface ChainBreak {
  /** The event (or checkpoint, for checkpoint reasons) at which the chain breaks; null when it is missing or it is the head row. */
  readonly id: string | null;
  readonly seq: number | null;
  readonly reason: ChainBreakReason;
}

/** An 'unverified' mark that an operator accepted with `warden audit acknowledge-unverified`. */
export interface AcknowledgedMark {
  /** The 'unverified' checkpoint: an append found the head at `seq` without a valid signature. */
  readonly ordinal: number;
  readonly seq: number;
  /** The 'acknowledged' checkpoint that accepted it, and when (ISO 8601). */
  readonly acknowledgement_ordinal: number;
  readonly acknowledged_at: string;
  /** From its audit.unverified_acknowledged event; null once that event was pruned (or not reached). */
  readonly reason: string | null;
}

export interface VerifyReport {
  readonly valid: boolean;
  readonly checked_events: number;
  readonly checked_checkpoints: number;
  /** Where the verified chain starts (1, or after the last prune checkpoint). */
  readonly first_seq: number;
  readonly last_seq: number;
  /**
   * Set when the log was written before heads were signed (migration 0010): the first append
   * afterwards took the chain up to this seq over as it found it. Null for logs begun since.
   */
  readonly legacy_through_seq: number | null;
  /** 'unverified' marks accepted by an operator; they no longer make the chain invalid. */
  readonly acknowledged: readonly AcknowledgedMark[];
  readonly first_broken: ChainBreak | null;
}

/**
 * A prune commits its own checkpoint and deletes the rows before it; one that lands while a
 * verification is reading makes the rows that verification set out from vanish. The first
 * append of a new log, landing likewise, makes rows appear behind an unsigned genesis head.
 * Each retry is a whole new verification, so nothing it would have caught goes unchecked.
 */
const MAX_ATTEMPTS = 3;

/** One verification, and whether the head row moved under it in a way that explains its failure. */
interface Attempt {
  readonly report: VerifyReport;
  readonly headMoved: boolean;
}

/**
 * Walks the chain from its start (seq 1, or the newest signed prune checkpoint) in seq order
 * and reports the first broken link: a row whose content does not hash to its stored hash
 * (edited), a gap in seq (deleted), a prev_hash that is not its predecessor's hash
 * (reordered/swapped), a signed checkpoint the chain contradicts or no longer reaches
 * (truncated tail), a gap in the chain of checkpoints (one deleted), or a head row that is
 * not signed with the checkpoint key or does not name exactly the last event and the newest
 * checkpoint.
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
    const { report, headMoved } = await verifyOnce(db, options);
    if (report.valid || attempt === MAX_ATTEMPTS) return report;
    if (headMoved) continue;
    if (report.first_broken?.reason !== 'missing_event') return report;
    // Only a prune newer than the one this attempt started from explains a missing row innocently.
    const newestPrune = await db
      .selectFrom('audit_checkpoints')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .where('kind', '=', 'prune')
      .executeTakeFirst();
    if (newestPrune?.seq === null || newestPrune?.seq === undefined || Number(newestPrune.seq) < report.first_seq) return report;
  }
}

async function verifyOnce(db: Kysely<DatabaseSchema>, options: { checkpointKey: Uint8Array; pageSize?: number }): Promise<Attempt> {
  const pageSize = options.pageSize ?? 1000;
  const key = options.checkpointKey;
  // Checkpoints first, then the head: an append moves the head in the transaction that stores
  // its checkpoints, so every genuine checkpoint read here is at or below the head read next.
  // (Read the other way round, a checkpoint committed in between would look like a truncated tail.)
  const checkpoints = await db.selectFrom('audit_checkpoints').selectAll().execute();
  const head = await readHead(db);
  // The head may name checkpoints committed between the two reads; later ones belong to the next run.
  const readOrdinal = checkpoints.reduce((max, c) => Math.max(max, c.ordinal === null ? 0 : Number(c.ordinal)), 0);
  if (head !== undefined && Number(head.checkpoint_ordinal) > readOrdinal) {
    const late = await db
      .selectFrom('audit_checkpoints')
      .selectAll()
      .where('ordinal', '>', readOrdinal)
      .where('ordinal', '<=', Number(head.checkpoint_ordinal))
      .execute();
    checkpoints.push(...late);
  }
  // Everything at or below the head was committed with it and never changes afterwards; rows
  // above it are appends that committed after this point and belong to the next verification.
  const lastSeq = head === undefined ? undefined : Number(head.seq);
  const legacy = checkpoints.filter((c) => c.ordinal === null).sort((a, b) => Number(a.seq) - Number(b.seq) || Number(a.created_at) - Number(b.created_at));
  const chained = checkpoints.filter((c) => c.ordinal !== null).sort((a, b) => Number(a.ordinal) - Number(b.ordinal));
  const expectedHashAt = new Map<number, string>();
  let start = { seq: 1, prev: GENESIS_HASH };
  let report = {
    checked_events: 0,
    checked_checkpoints: 0,
    first_seq: 1,
    last_seq: 0,
    legacy_through_seq: null as number | null,
    acknowledged: [] as AcknowledgedMark[],
  };
  const broken = (brk: ChainBreak, headMoved = false): Attempt => ({ report: { valid: false, ...report, first_broken: brk }, headMoved });

  for (const checkpoint of [...legacy, ...chained]) {
    if (!constantTimeEqual(signCheckpoint(key, checkpoint), checkpoint.signature)) {
      return broken({ id: checkpoint.id, seq: Number(checkpoint.seq), reason: 'checkpoint_signature_invalid' });
    }
    report.checked_checkpoints += 1;
    const seq = Number(checkpoint.seq);
    expectedHashAt.set(seq, checkpoint.hash);
    if (checkpoint.kind === 'prune' && seq + 1 > start.seq) start = { seq: seq + 1, prev: checkpoint.hash };
  }
  const covered = acknowledgedMarks(chained);
  // The reasons are filled in from the acknowledgement events as the walk meets them.
  const reasons = new Map<string, string | null>([...covered.values()].map((c) => [c.id, null]));
  const seqAtOrdinal = new Map(chained.map((c) => [Number(c.ordinal), Number(c.seq)]));
  const listAcknowledged = (): void => {
    report.acknowledged = [...covered.entries()]
      .sort(([a], [b]) => a - b)
      .map(([ordinal, by]) => ({
        ordinal,
        seq: seqAtOrdinal.get(ordinal) ?? 0,
        acknowledgement_ordinal: Number(by.ordinal),
        acknowledged_at: new Date(Number(by.created_at)).toISOString(),
        reason: reasons.get(by.id) ?? null,
      }));
  };
  listAcknowledged();
  const chainBreak = walkCheckpointChain(chained, covered);
  if (chainBreak !== undefined) return broken(chainBreak);
  const legacyAnchor = chained[0]?.kind === 'legacy' ? Number(chained[0].seq) : null;
  report = { ...report, first_seq: start.seq, last_seq: start.seq - 1, legacy_through_seq: legacyAnchor };

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
      if (row.action === ACKNOWLEDGED_ACTION && row.entity_type === ACKNOWLEDGEMENT_ENTITY && row.entity_id !== null && reasons.get(row.entity_id) === null) {
        reasons.set(row.entity_id, reasonOf(row.details));
      }
      prev = row.hash;
      expectedSeq += 1;
      report.checked_events += 1;
      report.last_seq = seq;
    }
    if (page.length < pageSize) break;
  }
  listAcknowledged();

  const lastCheckpointSeq = checkpoints.reduce((max, c) => Math.max(max, Number(c.seq)), 0);
  if (lastCheckpointSeq > report.last_seq) return broken({ id: null, seq: report.last_seq + 1, reason: 'truncated_tail' });
  if (head === undefined) return broken({ id: null, seq: report.last_seq + 1, reason: 'head_mismatch' });
  const headSeq = Number(head.seq);
  // From here on the head row is what the chain must end at, so it must be the one the service signed.
  const trust = classifyHead(key, head);
  if (trust === 'unverified' || trust === 'legacy') {
    return broken({ id: null, seq: headSeq, reason: head.signature === null ? 'head_unsigned' : 'head_signature_invalid' });
  }
  if (trust === 'genesis' && (checkpoints.length > 0 || (await db.selectFrom('audit_events').select('seq').limit(1).executeTakeFirst()) !== undefined)) {
    // An unsigned genesis head is only believable for a log that never held anything. But the
    // first append may have committed after the head was read: its rows are visible now, and
    // the head has moved (and is signed). Then the whole verification is worth running again.
    const current = await readHead(db);
    const moved = current !== undefined && (Number(current.seq) !== headSeq || current.hash !== head.hash || current.signature !== head.signature);
    return broken({ id: null, seq: headSeq, reason: 'head_unsigned' }, moved);
  }
  // The signed head names the newest checkpoint: fewer means the newest were deleted, more
  // means the head row was put back to an older signed state.
  const headOrdinal = Number(head.checkpoint_ordinal);
  const newest = chained.at(-1);
  if (chained.length < headOrdinal) return broken({ id: null, seq: null, reason: 'checkpoint_missing' });
  if (chained.length > headOrdinal || (newest?.signature ?? null) !== head.checkpoint_signature) {
    return broken({ id: null, seq: headSeq, reason: 'head_mismatch' });
  }
  // A head beyond the last row (tail deleted) ends the walk early and fails here.
  if (lastSeq !== report.last_seq || head.hash !== prev) return broken({ id: null, seq: report.last_seq + 1, reason: 'head_mismatch' });
  const stray = await strayEvent(db, start.seq);
  if (stray !== undefined) return broken({ id: stray.id, seq: Number(stray.seq), reason: 'unexpected_event' });
  return { report: { valid: true, ...report, first_broken: null }, headMoved: false };
}

/**
 * A row the walk never reads: one below the chain's start (seq 0 or less, or inside a pruned
 * range) or one above the head. Neither can be innocent: a prune deletes the rows below its
 * checkpoint in the transaction that commits it, so rows below the start only ever vanish;
 * and every append commits its rows with a head at or above their seq, so a row above the
 * head re-read after it is one no append wrote (and that blocks every later append).
 */
async function strayEvent(db: Kysely<DatabaseSchema>, startSeq: number): Promise<{ id: string; seq: number | string } | undefined> {
  const below = await db.selectFrom('audit_events').select(['id', 'seq']).where('seq', '<', startSeq).orderBy('seq', 'asc').limit(1).executeTakeFirst();
  if (below !== undefined) return below;
  const highest = await db.selectFrom('audit_events').select(['id', 'seq']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
  if (highest === undefined) return undefined;
  const head = await readHead(db);
  return head === undefined || Number(highest.seq) > Number(head.seq) ? highest : undefined;
}

function readHead(db: Kysely<DatabaseSchema>) {
  return db
    .selectFrom('audit_chain_head')
    .select(['seq', 'hash', 'checkpoint_ordinal', 'checkpoint_signature', 'signature'])
    .where('id', '=', 'head')
    .executeTakeFirst();
}

/** The reason stored in an acknowledgement event's details, if it is still there as text. */
function reasonOf(details: string | null): string | null {
  if (details === null) return null;
  try {
    const parsed: unknown = JSON.parse(details);
    const reason = typeof parsed === 'object' && parsed !== null ? (parsed as { reason?: unknown }).reason : undefined;
    return typeof reason === 'string' ? reason : null;
  } catch {
    return null;
  }
}

/**
 * Checks that the chained checkpoints (sorted by ordinal, signatures already verified) are
 * 1, 2, 3… each naming its predecessor's signature, and reports the marks an append left when
 * it found a head row it could not authenticate, unless an operator acknowledged them.
 */
function walkCheckpointChain(chained: readonly AuditCheckpointsTable[], acknowledged: ReadonlyMap<number, AuditCheckpointsTable>): ChainBreak | undefined {
  let previous: string | null = null;
  for (const [index, checkpoint] of chained.entries()) {
    if (Number(checkpoint.ordinal) !== index + 1 || checkpoint.prev_signature !== previous) {
      return { id: checkpoint.id, seq: null, reason: 'checkpoint_missing' };
    }
    previous = checkpoint.signature;
    if (checkpoint.kind === 'unverified' && !acknowledged.has(index + 1)) {
      return { id: checkpoint.id, seq: Number(checkpoint.seq), reason: 'head_signature_invalid' };
    }
    // Taking over an unsigned head is only legitimate once, before any signed checkpoint existed.
    if (checkpoint.kind === 'legacy' && index > 0) return { id: checkpoint.id, seq: Number(checkpoint.seq), reason: 'head_unsigned' };
  }
  return undefined;
}
