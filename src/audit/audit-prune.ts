import type { Kysely, Transaction } from 'kysely';
import { randomUUID } from 'node:crypto';
import { constantTimeEqual } from '../crypto/constant-time.js';
import { WardenError } from '../errors/index.js';
import type { DatabaseSchema } from '../storage/index.js';
import { acknowledgedMarks } from './audit-acknowledge.js';
import {
  LockedChain,
  type ChainHead,
  type CheckpointKind,
  type HeadTrust,
  type PreparedEvent,
} from './audit-chain.js';
import type { AuditAction } from './audit-event.js';
import type { AuditCheckpointsTable, AuditEventsTable } from './audit-tables.js';
import type { ChainBreakReason } from './audit-verify.js';
import { GENESIS_HASH, hashEvent, signCheckpoint } from './canonical-form.js';
import { redactDetails } from './redact-details.js';

export interface PruneResult {
  readonly deleted: number;
  /** The last deleted position; the chain now starts right after it. */
  readonly through_seq: number | null;
}

export interface PruneOptions {
  /** Epoch ms: events strictly older are deleted (see `pruneEvents` for which ones exactly). */
  readonly before: number;
  readonly actor: string;
  readonly checkpointKey: Uint8Array;
  readonly now: number;
  /** Rows read per statement while checking the range. @default 1000 */
  readonly pageSize?: number;
}

/** Where the range a prune was about to delete does not verify; the same reasons as `verifyChain` gives. */
export interface PruneRefusal {
  readonly seq: number;
  readonly reason: ChainBreakReason;
}

/** The audit action recorded when a prune refuses (nothing was deleted). */
export const PRUNE_REFUSED_ACTION = 'audit.prune_refused' satisfies AuditAction;

/** What each reason means, for the refusal message: never any event content. */
const REASON_TEXT: Readonly<Record<ChainBreakReason, string>> = {
  checkpoint_signature_invalid: 'a checkpoint does not carry a valid signature',
  checkpoint_missing: 'a checkpoint is missing',
  missing_event: 'an event is missing',
  hash_mismatch: "the event's content does not match its hash",
  prev_hash_mismatch: 'the event does not link to the one before it',
  checkpoint_mismatch: 'the event differs from what a signed checkpoint pinned',
  truncated_tail: 'a signed checkpoint lies beyond the last event',
  head_mismatch: 'the chain head does not name this event',
  head_unsigned: 'the chain head is not signed',
  head_signature_invalid:
    "the chain head was found without a valid signature (an 'unverified' mark nobody acknowledged)",
};

/**
 * A prune that found the range it was about to delete broken (edited, deleted or reordered
 * rows, a forged or contradicted checkpoint, an unacknowledged 'unverified' mark): it deleted
 * nothing, wrote no prune checkpoint, and recorded an `audit.prune_refused` event. Code
 * `audit_chain_broken` (409); `seq` and `reason` (one of `verifyChain`'s reasons) say where and why.
 */
export class AuditPruneRefusedError extends WardenError {
  readonly seq: number;
  readonly reason: ChainBreakReason;

  constructor(refusal: PruneRefusal) {
    super(
      'audit_chain_broken',
      `Audit prune refused: the chain does not verify at seq ${refusal.seq} (${refusal.reason}: ${REASON_TEXT[refusal.reason]}); ` +
        'nothing was deleted. Run `warden audit verify` and investigate before pruning',
      { fields: { seq: refusal.seq, reason: refusal.reason } },
    );
    this.seq = refusal.seq;
    this.reason = refusal.reason;
  }
}

/**
 * Deletes the events older than `before` (epoch ms) in one transaction holding the chain-head
 * lock, stores a signed 'prune' checkpoint of the last deleted event (so verification resumes
 * from its hash) and appends an `audit.pruned` event. The only code path that deletes audit rows.
 *
 * The cut is the end of the unbroken run of old events from the start of the chain: the event
 * before the lowest seq dated at or after `before` (or the head, when there is none). It relies
 * on `occurred_at` growing with `seq`, which holds up to clock skew between instances; an event
 * out of that order (skewed or back-dated) stops the cut, so retention may keep a few old events
 * longer but never deletes an event of the chain dated at or after `before`.
 *
 * Before deleting, the range is verified (see `checkRange`): a signature is never put over rows
 * that do not verify. When it does not, nothing is deleted, an `audit.prune_refused` event is
 * recorded and committed, and `AuditPruneRefusedError` is thrown.
 */
export async function pruneEvents(db: Kysely<DatabaseSchema>, options: PruneOptions): Promise<PruneResult> {
  const outcome = await db.transaction().execute(async (trx) => {
    const chain = await LockedChain.lock(trx, options.checkpointKey, options.now);
    const plan = await checkRange(trx, chain.head, chain.trust, options);
    const before = new Date(options.before).toISOString();
    let result: PruneResult = { deleted: 0, through_seq: null };
    let event: Pick<PreparedEvent, 'action' | 'outcome' | 'details'>;
    if (plan.kind === 'refused') {
      const { seq, reason } = plan.refusal;
      event = {
        action: PRUNE_REFUSED_ACTION,
        outcome: 'failure',
        details: redactDetails({ before, seq, reason }),
      };
    } else {
      if (plan.kind === 'cut') {
        const deleted = await trx
          .deleteFrom('audit_events')
          .where('seq', '<=', plan.through.seq)
          .executeTakeFirst();
        chain.checkpoint('prune', plan.through);
        result = { deleted: Number(deleted.numDeletedRows), through_seq: plan.through.seq };
      }
      event = {
        action: 'audit.pruned',
        outcome: 'success',
        details: redactDetails({ before, deleted: result.deleted, through_seq: result.through_seq }),
      };
    }
    const newHead = await chain.append([
      {
        id: randomUUID(),
        occurred_at: options.now,
        actor: options.actor,
        entity_type: 'audit_log',
        entity_id: null,
        ip: null,
        user_agent: null,
        request_id: null,
        ...event,
      },
    ]);
    chain.checkpoint('head', newHead);
    await chain.seal();
    return { result, refusal: plan.kind === 'refused' ? plan.refusal : undefined };
  });
  // Thrown after the commit, so that the refusal is on record.
  if (outcome.refusal !== undefined) throw new AuditPruneRefusedError(outcome.refusal);
  return outcome.result;
}

type RangePlan =
  { kind: 'nothing' } | { kind: 'cut'; through: ChainHead } | { kind: 'refused'; refusal: PruneRefusal };

/** Checkpoint kinds that vouch for the chain up to them: every kind but 'unverified' (which records a head found unsigned). */
const ANCHOR_KINDS: readonly CheckpointKind[] = ['head', 'prune', 'legacy', 'acknowledged'];

/**
 * Picks the cut and verifies, with the lock held, what deleting up to it would sign over. Walks
 * the events from the chain's start (seq 1, or just after the newest 'prune' checkpoint, whose
 * signature must verify) to the anchor: the first signed checkpoint at or after the cut, or the
 * head row when there is none (refused when that head is 'unverified'). Up to the cut alone would
 * not do: an edit re-hashed forward through the cut needs no key, and only the link beyond it
 * shows it. The walk checks, like `verifyChain`, seq without gaps, each row's hash, each
 * prev_hash, and every checkpoint in the range (signature, and the hash it pinned). It also
 * refuses an unacknowledged 'unverified' mark in that range (the rows before it may have been
 * written without the key, and an operator must inspect them before they go), and checks each
 * event above it that is dated before `before` (out of order: clock skew, or a back-dated edit
 * meant to pull the cut forward) on its own: its hash and its link to the next row or the head.
 * The cost is the rows being deleted plus those up to the next checkpoint (about a minute of
 * events), not the whole log.
 */
async function checkRange(
  trx: Transaction<DatabaseSchema>,
  head: ChainHead,
  trust: HeadTrust,
  options: PruneOptions,
): Promise<RangePlan> {
  const key = options.checkpointKey;
  const pageSize = options.pageSize ?? 1000;
  const refused = (seq: number, reason: ChainBreakReason): RangePlan => ({
    kind: 'refused',
    refusal: { seq, reason },
  });
  const forged = (checkpoint: AuditCheckpointsTable): boolean =>
    !constantTimeEqual(signCheckpoint(key, checkpoint), checkpoint.signature);

  const lastPrune = await trx
    .selectFrom('audit_checkpoints')
    .selectAll()
    .where('kind', '=', 'prune')
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (lastPrune !== undefined && forged(lastPrune))
    return refused(Number(lastPrune.seq), 'checkpoint_signature_invalid');
  const start = lastPrune === undefined ? 1 : Number(lastPrune.seq) + 1;
  const firstRecent = await trx
    .selectFrom('audit_events')
    .select((eb) => eb.fn.min('seq').as('seq'))
    .where('seq', '>=', start)
    .where('seq', '<=', head.seq)
    .where('occurred_at', '>=', options.before)
    .executeTakeFirst();
  const cut =
    firstRecent?.seq === null || firstRecent?.seq === undefined ? head.seq : Number(firstRecent.seq) - 1;
  if (cut < start) return { kind: 'nothing' };

  const next = await trx
    .selectFrom('audit_checkpoints')
    .selectAll()
    .where('seq', '>=', cut)
    .where('kind', 'in', ANCHOR_KINDS)
    .orderBy('seq', 'asc')
    .limit(1)
    .executeTakeFirst();
  if (next === undefined && trust === 'unverified') return refused(head.seq, 'head_signature_invalid');
  const anchor = next === undefined ? head.seq : Number(next.seq);
  if (anchor > head.seq) return refused(head.seq + 1, 'truncated_tail');

  // Every checkpoint the walk passes must be genuine, and the rows must match what it pinned.
  const pinned = new Map<number, string[]>();
  for (const checkpoint of await trx
    .selectFrom('audit_checkpoints')
    .selectAll()
    .where('seq', '>=', start)
    .where('seq', '<=', anchor)
    .execute()) {
    const seq = Number(checkpoint.seq);
    if (forged(checkpoint)) return refused(seq, 'checkpoint_signature_invalid');
    pinned.set(seq, [...(pinned.get(seq) ?? []), checkpoint.hash]);
  }
  const marks = await trx
    .selectFrom('audit_checkpoints')
    .selectAll()
    .where('ordinal', 'is not', null)
    .where('kind', 'in', ['unverified', 'acknowledged'])
    .execute();
  const badMark = marks.find(forged);
  if (badMark !== undefined) return refused(Number(badMark.seq), 'checkpoint_signature_invalid');
  const covered = acknowledgedMarks(marks);
  const open = marks
    .filter(
      (m) =>
        m.kind === 'unverified' &&
        !covered.has(Number(m.ordinal)) &&
        Number(m.seq) >= start &&
        Number(m.seq) <= anchor,
    )
    .reduce((low, m) => Math.min(low, Number(m.seq)), Number.POSITIVE_INFINITY);
  if (open !== Number.POSITIVE_INFINITY) return refused(open, 'head_signature_invalid');

  let expected = start;
  let prev = lastPrune === undefined ? GENESIS_HASH : lastPrune.hash;
  let cutHash: string | undefined;
  for (;;) {
    const page = await trx
      .selectFrom('audit_events')
      .selectAll()
      .where('seq', '>=', expected)
      .where('seq', '<=', anchor)
      .orderBy('seq', 'asc')
      .limit(pageSize)
      .execute();
    for (const row of page) {
      const seq = Number(row.seq);
      if (seq !== expected) return refused(expected, 'missing_event');
      if (hashEvent(row) !== row.hash) return refused(seq, 'hash_mismatch');
      if (row.prev_hash !== prev) return refused(seq, 'prev_hash_mismatch');
      if ((pinned.get(seq) ?? []).some((hash) => hash !== row.hash))
        return refused(seq, 'checkpoint_mismatch');
      if (seq === cut) cutHash = row.hash;
      prev = row.hash;
      expected += 1;
    }
    if (page.length < pageSize) break;
  }
  if (expected <= anchor) return refused(expected, next === undefined ? 'head_mismatch' : 'truncated_tail');
  if (next === undefined && prev !== head.hash) return refused(anchor, 'head_mismatch');

  const stray = await checkOutOfOrder(trx, anchor, head, options.before, pageSize);
  if (stray !== undefined) return { kind: 'refused', refusal: stray };
  return cutHash === undefined
    ? refused(cut, 'missing_event')
    : { kind: 'cut', through: { seq: cut, hash: cutHash } };
}

/**
 * The events after `after` dated before `before`: the rows the cut stopped short of. Each must
 * hash to its stored hash and be what the next row (or the head) names as its predecessor.
 */
async function checkOutOfOrder(
  trx: Transaction<DatabaseSchema>,
  after: number,
  head: ChainHead,
  before: number,
  pageSize: number,
): Promise<PruneRefusal | undefined> {
  let from = after + 1;
  for (;;) {
    const page = await trx
      .selectFrom('audit_events')
      .selectAll()
      .where('seq', '>=', from)
      .where('seq', '<=', head.seq)
      .where('occurred_at', '<', before)
      .orderBy('seq', 'asc')
      .limit(pageSize)
      .execute();
    if (page.length === 0) return undefined;
    const successors = await trx
      .selectFrom('audit_events')
      .select(['seq', 'prev_hash'])
      .where(
        'seq',
        'in',
        page.map((row) => Number(row.seq) + 1),
      )
      .execute();
    const namedBy = new Map(successors.map((s) => [Number(s.seq), s.prev_hash]));
    for (const row of page) {
      const refusal = checkAlone(row, head, namedBy);
      if (refusal !== undefined) return refusal;
    }
    if (page.length < pageSize) return undefined;
    from = Number(page.at(-1)?.seq) + 1;
  }
}

function checkAlone(
  row: AuditEventsTable,
  head: ChainHead,
  namedBy: ReadonlyMap<number, string>,
): PruneRefusal | undefined {
  const seq = Number(row.seq);
  if (hashEvent(row) !== row.hash) return { seq, reason: 'hash_mismatch' };
  if (seq === head.seq) return row.hash === head.hash ? undefined : { seq, reason: 'head_mismatch' };
  const successor = namedBy.get(seq + 1);
  if (successor === undefined) return { seq: seq + 1, reason: 'missing_event' };
  return successor === row.hash ? undefined : { seq: seq + 1, reason: 'prev_hash_mismatch' };
}
