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
import { verifyChain, type ChainBreakReason } from './audit-verify.js';
import { GENESIS_HASH, hashEvent, signCheckpoint } from './canonical-form.js';
import { redactDetails } from './redact-details.js';

export interface PruneResult {
  readonly deleted: number;
  /** The last deleted position; the chain now starts right after it. */
  readonly through_seq: number | null;
}

/** Events deleted per transaction unless `chunkSize` says otherwise. */
export const DEFAULT_PRUNE_CHUNK_SIZE = 10_000;

export interface PruneOptions {
  /** Epoch ms: events strictly older are deleted (see `pruneEvents` for which ones exactly). */
  readonly before: number;
  readonly actor: string;
  readonly checkpointKey: Uint8Array;
  readonly now: number;
  /** Rows read per statement while checking the range. @default 1000 */
  readonly pageSize?: number;
  /** Most events deleted per transaction (each holds the chain-head lock). @default 10000 */
  readonly chunkSize?: number;
  /**
   * Awaited after each committed chunk that is not the last, with the totals so far. An error
   * thrown here stops the prune there, as a crash would: the chunks committed so far stay deleted.
   */
  readonly onChunk?: (progress: PruneResult) => void | Promise<void>;
}

/** Where the range a prune was about to delete does not verify; the same reasons as `verifyChain` gives. */
export interface PruneRefusal {
  readonly seq: number;
  readonly reason: ChainBreakReason;
}

/** The audit action recorded when a prune refuses (nothing more is deleted). */
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
  unexpected_event: 'an event lies outside the chain (below its start or above its head)',
};

const NOTHING_DELETED: PruneResult = { deleted: 0, through_seq: null };

/**
 * A prune that found the part of the range it was about to delete broken (edited, deleted or
 * reordered rows, a forged or contradicted checkpoint, an unacknowledged 'unverified' mark): it
 * deleted nothing more, wrote no prune checkpoint for it, and recorded an `audit.prune_refused`
 * event. Code `audit_chain_broken` (409); `seq` and `reason` (one of `verifyChain`'s reasons) say
 * where and why, `deleted` and `through_seq` what earlier chunks of the same prune had deleted.
 */
export class AuditPruneRefusedError extends WardenError {
  readonly seq: number;
  readonly reason: ChainBreakReason;
  /** Events deleted by this prune's earlier chunks, which stay deleted (0 when the first chunk refused). */
  readonly deleted: number;
  /** Where those chunks stopped (the chain verifies from just after it); null when nothing was deleted. */
  readonly through_seq: number | null;

  constructor(refusal: PruneRefusal, progress: PruneResult = NOTHING_DELETED) {
    const done =
      progress.deleted === 0
        ? 'nothing was deleted'
        : `the prune had already deleted ${progress.deleted} events through seq ${String(progress.through_seq)}, ` +
          'which stay deleted (verification now starts after them); nothing after them was deleted';
    super(
      'audit_chain_broken',
      `Audit prune refused: the chain does not verify at seq ${refusal.seq} (${refusal.reason}: ${REASON_TEXT[refusal.reason]}); ` +
        `${done}. Run \`warden audit verify\` and investigate before pruning`,
      {
        fields: {
          seq: refusal.seq,
          reason: refusal.reason,
          deleted: progress.deleted,
          through_seq: progress.through_seq ?? undefined,
        },
      },
    );
    this.seq = refusal.seq;
    this.reason = refusal.reason;
    this.deleted = progress.deleted;
    this.through_seq = progress.through_seq;
  }
}

/** What one chunk's transaction committed. */
interface ChunkOutcome {
  readonly progress: PruneResult;
  /** The whole prune's cut, fixed by the first chunk. */
  readonly target: number | undefined;
  readonly done: boolean;
  readonly refusal?: PruneRefusal;
}

/**
 * Deletes the events older than `before` (epoch ms) in chunks of at most `chunkSize` events, each
 * chunk one transaction holding the chain-head lock, so appends (from every instance) wait for
 * one chunk at most instead of the whole prune. Each chunk verifies its slice (see
 * `checkRange`), deletes it and stores a signed 'prune' checkpoint of its last event, so the
 * chain verifies after every chunk (verification resumes from the newest 'prune' checkpoint)
 * and a crash between chunks leaves a verifiable, partly pruned chain. The last chunk also
 * appends one `audit.pruned` event with the totals. The only code path that deletes audit rows.
 *
 * The cut is fixed by the first chunk: the end of the unbroken run of old events from the start
 * of the chain, i.e. the event before the lowest seq dated at or after `before` (or the head,
 * when there is none). It relies on `occurred_at` growing with `seq`, which holds up to clock
 * skew between instances; an event out of that order (skewed or back-dated) stops the cut, so
 * retention may keep a few old events longer but never deletes an event of the chain dated at or
 * after `before`. Events appended while the prune runs lie beyond that cut and are never deleted
 * by it, even when `before` is in the future.
 *
 * A signature is never put over rows that do not verify. When a chunk's slice does not, that
 * chunk deletes nothing, an `audit.prune_refused` event is recorded and committed, and
 * `AuditPruneRefusedError` is thrown; earlier chunks stay deleted and the error says how far
 * they got.
 */
export async function pruneEvents(db: Kysely<DatabaseSchema>, options: PruneOptions): Promise<PruneResult> {
  const chunkSize = options.chunkSize ?? DEFAULT_PRUNE_CHUNK_SIZE;
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) throw new TypeError('chunkSize must be a positive integer');
  let progress = NOTHING_DELETED;
  let target: number | undefined;
  // The whole chain first, as `warden audit verify` reads it: a break beyond the range (a
  // checkpoint chain cut, a head whose signature was removed) is evidence, and a prune must not
  // go on deleting while verification reports the log broken.
  const whole = await verifyChain(db, { checkpointKey: options.checkpointKey, ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }) });
  let broken: PruneRefusal | undefined =
    whole.valid || whole.first_broken === null ? undefined : { seq: whole.first_broken.seq ?? whole.last_seq + 1, reason: whole.first_broken.reason };
  for (;;) {
    const outcome = await pruneChunk(db, options, { chunkSize, progress, target, ...(broken === undefined ? {} : { refusal: broken }) });
    broken = undefined;
    // Only what committed counts, so the totals are taken from the chunk after its commit.
    progress = outcome.progress;
    target = outcome.target;
    // Thrown after the commit, so that the refusal is on record.
    if (outcome.refusal !== undefined) throw new AuditPruneRefusedError(outcome.refusal, progress);
    if (outcome.done) return progress;
    await options.onChunk?.(progress);
  }
}

/** One chunk: verify, delete, checkpoint; on the last one (or a refusal) also the audit event. */
function pruneChunk(
  db: Kysely<DatabaseSchema>,
  options: PruneOptions,
  state: { chunkSize: number; progress: PruneResult; target: number | undefined; refusal?: PruneRefusal },
): Promise<ChunkOutcome> {
  return LockedChain.run(db, options.checkpointKey, options.now, async (chain, trx) => {
    const plan: RangePlan = state.refusal !== undefined ? { kind: 'refused', refusal: state.refusal } : await checkRange(trx, chain.head, chain.trust, options, state);
    const before = new Date(options.before).toISOString();
    let progress = state.progress;
    let event: Pick<PreparedEvent, 'action' | 'outcome' | 'details'> | undefined;
    if (plan.kind === 'refused') {
      event = {
        action: PRUNE_REFUSED_ACTION,
        outcome: 'failure',
        details: redactDetails({ before, ...plan.refusal, ...progress }),
      };
    } else {
      if (plan.kind === 'cut') {
        const deleted = await trx
          .deleteFrom('audit_events')
          .where('seq', '<=', plan.through.seq)
          .executeTakeFirst();
        chain.checkpoint('prune', plan.through);
        progress = { deleted: progress.deleted + Number(deleted.numDeletedRows), through_seq: plan.through.seq };
      }
      // One event per prune, with the totals; the chunks before it are on record as 'prune' checkpoints.
      if (plan.kind === 'nothing' || plan.last) {
        event = {
          action: 'audit.pruned',
          outcome: 'success',
          details: redactDetails({ before, ...progress }),
        };
      }
    }
    if (event !== undefined) {
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
    }
    await chain.seal();
    return {
      progress,
      target: plan.kind === 'refused' ? state.target : plan.target,
      done: event !== undefined,
      ...(plan.kind === 'refused' ? { refusal: plan.refusal } : {}),
    };
  });
}

type RangePlan =
  | { kind: 'nothing'; target: number }
  | { kind: 'cut'; through: ChainHead; target: number; last: boolean }
  | { kind: 'refused'; refusal: PruneRefusal };

/** Checkpoint kinds that vouch for the chain up to them: every kind but 'unverified' (which records a head found unsigned). */
const ANCHOR_KINDS: readonly CheckpointKind[] = ['head', 'prune', 'legacy', 'acknowledged'];

/**
 * Picks this chunk's cut and verifies, with the lock held, what deleting up to it would sign
 * over. The first chunk (no `target` yet) fixes the whole prune's cut as the end of the run of
 * old events; each chunk then cuts at most `chunkSize` events further, and never past an event
 * dated at or after `before`. Walks the events from the chain's start (seq 1, or just after the
 * newest 'prune' checkpoint, whose signature must verify) to the anchor: the first signed
 * checkpoint at or after the chunk's cut, or the head row when there is none (refused when that
 * head is 'unverified'). Up to the cut alone would not do: an edit re-hashed forward through the
 * cut needs no key, and only the link beyond it shows it. The walk checks, like `verifyChain`,
 * seq without gaps, each row's hash, each prev_hash, and every checkpoint in the range
 * (signature, and the hash it pinned). It also refuses an unacknowledged 'unverified' mark in
 * that range (the rows before it may have been written without the key, and an operator must
 * inspect them before they go). The first chunk, before anything is deleted, also checks each
 * event above the whole cut that is dated before `before` (out of order: clock skew, or a
 * back-dated edit meant to pull the cut forward) on its own: its hash and its link to the next
 * row or the head. The cost is the chunk plus the rows up to the next checkpoint (about a minute
 * of events), not the whole log.
 */
async function checkRange(
  trx: Transaction<DatabaseSchema>,
  head: ChainHead,
  trust: HeadTrust,
  options: PruneOptions,
  state: { chunkSize: number; target: number | undefined },
): Promise<RangePlan> {
  const key = options.checkpointKey;
  const pageSize = options.pageSize ?? 1000;
  const refused = (seq: number, reason: ChainBreakReason): RangePlan => ({
    kind: 'refused',
    refusal: { seq, reason },
  });
  const forged = (checkpoint: AuditCheckpointsTable): boolean =>
    !constantTimeEqual(signCheckpoint(key, checkpoint), checkpoint.signature);
  const firstDatedFrom = async (from: number, to: number): Promise<number | undefined> => {
    const row = await trx
      .selectFrom('audit_events')
      .select((eb) => eb.fn.min('seq').as('seq'))
      .where('seq', '>=', from)
      .where('seq', '<=', to)
      .where('occurred_at', '>=', options.before)
      .executeTakeFirst();
    return row?.seq === null || row?.seq === undefined ? undefined : Number(row.seq);
  };

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
  // Later chunks keep the first chunk's cut: events appended meanwhile (this prune's interleaved
  // neighbours) lie beyond it and are never swept up, even when `before` is in the future.
  let target = state.target;
  if (target === undefined) {
    const firstRecent = await firstDatedFrom(start, head.seq);
    target = firstRecent === undefined ? head.seq : firstRecent - 1;
  }
  const chunkEnd = Math.min(target, start + state.chunkSize - 1);
  if (chunkEnd < start) return { kind: 'nothing', target };
  // Re-checked under this chunk's lock: a row of the slice dated at or after `before` now (it was
  // edited since the first chunk) still stops the cut, and ends the prune there.
  const stop = state.target === undefined ? undefined : await firstDatedFrom(start, chunkEnd);
  const cut = stop === undefined ? chunkEnd : stop - 1;
  if (cut < start) return { kind: 'nothing', target };

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

  // Rows between the anchor and the whole cut are walked by the later chunks; only the ones the
  // cut stopped short of are checked on their own, once, before anything is deleted.
  if (state.target === undefined) {
    const stray = await checkOutOfOrder(trx, Math.max(anchor, target), head, options.before, pageSize);
    if (stray !== undefined) return { kind: 'refused', refusal: stray };
  }
  return cutHash === undefined
    ? refused(cut, 'missing_event')
    : { kind: 'cut', through: { seq: cut, hash: cutHash }, target, last: cut === target || stop !== undefined };
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
