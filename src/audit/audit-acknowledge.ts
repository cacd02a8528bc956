import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { constantTimeEqual } from '../crypto/constant-time.js';
import { WardenError } from '../errors/index.js';
import type { DatabaseSchema } from '../storage/index.js';
import { LockedChain } from './audit-chain.js';
import type { AuditAction } from './audit-event.js';
import type { AuditCheckpointsTable } from './audit-tables.js';
import { signCheckpoint } from './canonical-form.js';
import { redactDetails } from './redact-details.js';

/** The audit action recorded with every acknowledgement. */
export const ACKNOWLEDGED_ACTION = 'audit.unverified_acknowledged' satisfies AuditAction;

/** The entity type of that event; its entity_id is the id of the 'acknowledged' checkpoint. */
export const ACKNOWLEDGEMENT_ENTITY = 'audit_checkpoint';

/** Longest accepted reason, in code points: it is shown on one line by `warden audit verify`. */
const MAX_REASON_CHARS = 500;

/** An 'unverified' checkpoint: an append found the head row at (seq, hash) without a valid signature. */
export interface UnverifiedMark {
  readonly id: string;
  readonly ordinal: number;
  readonly seq: number;
  readonly hash: string;
  /** When the append found it (epoch ms). */
  readonly found_at: number;
  /**
   * The seq of the checkpoint written just before it, when known: whatever was written without
   * the key lies after the last signed head, which is at or after this seq.
   */
  readonly previous_checkpoint_seq: number | null;
}

/** What acknowledging through a seq would cover, and what it would leave failing. */
export interface AcknowledgementPlan {
  /** Unacknowledged marks at or below the requested seq, oldest first. */
  readonly marks: readonly UnverifiedMark[];
  /** Unacknowledged marks above it: verification keeps failing on them. */
  readonly later: readonly UnverifiedMark[];
}

export interface AcknowledgeOptions {
  /** Every unacknowledged mark at or below this seq is acknowledged; none above it. */
  readonly throughSeq: number;
  /** Why a human accepts them (e.g. "rolling upgrade to 0010, old pods stopped at 14:05"). */
  readonly reason: string;
  readonly actor: string;
  readonly checkpointKey: Uint8Array;
  readonly now: number;
  /**
   * The mark ordinals the operator was shown; when the marks found under the chain lock differ,
   * nothing is written, so what is acknowledged is exactly what was looked at.
   */
  readonly expectedOrdinals?: readonly number[];
  /** More non-secret context for the audit event (e.g. the OS user); redacted like any details. */
  readonly context?: Readonly<Record<string, string>>;
}

export interface AcknowledgeResult {
  /** The ordinal and id of the 'acknowledged' checkpoint. */
  readonly checkpoint_ordinal: number;
  readonly checkpoint_id: string;
  /** The seq of the audit.unverified_acknowledged event. */
  readonly event_seq: number;
  readonly marks: readonly UnverifiedMark[];
}

/**
 * Which 'unverified' marks are acknowledged, keyed by mark ordinal, each with the first
 * 'acknowledged' checkpoint covering it. An 'acknowledged' checkpoint covers exactly the
 * 'unverified' ones written before it (lower ordinal) at or below its seq. Both bounds are
 * its own signed fields, so it can never cover a mark written after it, and it keeps
 * covering them after its audit event is pruned. Only meaningful over checkpoints whose
 * signatures were verified.
 */
export function acknowledgedMarks(chained: readonly AuditCheckpointsTable[]): Map<number, AuditCheckpointsTable> {
  const covered = new Map<number, AuditCheckpointsTable>();
  const marks = chained.filter((c) => c.kind === 'unverified');
  if (marks.length === 0) return covered;
  const acknowledgements = chained.filter((c) => c.kind === 'acknowledged').sort((a, b) => Number(a.ordinal) - Number(b.ordinal));
  for (const acknowledgement of acknowledgements) {
    for (const mark of marks) {
      const ordinal = Number(mark.ordinal);
      if (ordinal < Number(acknowledgement.ordinal) && Number(mark.seq) <= Number(acknowledgement.seq) && !covered.has(ordinal)) {
        covered.set(ordinal, acknowledgement);
      }
    }
  }
  return covered;
}

/**
 * Lists the unacknowledged 'unverified' marks at or below `throughSeq` (and those above it);
 * writes nothing. Refused like `acknowledgeUnverified` when a mark or acknowledgement is forged.
 */
export async function planAcknowledgement(db: Kysely<DatabaseSchema>, throughSeq: number, checkpointKey: Uint8Array): Promise<AcknowledgementPlan> {
  checkThroughSeq(throughSeq);
  const chained = await db
    .selectFrom('audit_checkpoints')
    .selectAll()
    .where('ordinal', 'is not', null)
    .orderBy('ordinal', 'asc')
    .execute();
  assertSigned(chained.filter((c) => c.kind === 'unverified' || c.kind === 'acknowledged'), checkpointKey);
  const seqAtOrdinal = new Map(chained.map((c) => [Number(c.ordinal), Number(c.seq)]));
  const pending = unacknowledged(chained).map((mark) => ({ ...mark, previous_checkpoint_seq: seqAtOrdinal.get(mark.ordinal - 1) ?? null }));
  return { marks: pending.filter((m) => m.seq <= throughSeq), later: pending.filter((m) => m.seq > throughSeq) };
}

/**
 * Accepts the unacknowledged 'unverified' marks at or below `throughSeq`: in one transaction
 * under the chain-head lock, a signed, chained 'acknowledged' checkpoint (pinning the newest of
 * them, so its seq bounds what it covers) and an `audit.unverified_acknowledged` event naming
 * it, with the ordinals, the seq range and the reason.
 *
 * Refused (`conflict`) when there is nothing to acknowledge, when the marks differ from
 * `expectedOrdinals`, when a mark or an earlier acknowledgement does not carry a valid
 * signature, or when the head row is itself unsigned right now (an instance running older code
 * is still writing, and its next mark would follow at once).
 */
export async function acknowledgeUnverified(db: Kysely<DatabaseSchema>, options: AcknowledgeOptions): Promise<AcknowledgeResult> {
  checkThroughSeq(options.throughSeq);
  const reason = acknowledgementReason(options.reason);
  return LockedChain.run(db, options.checkpointKey, options.now, async (chain, trx) => {
    // Marks and acknowledgements only: the rest of the checkpoints is not needed to decide, and the lock is held.
    const relevant = await trx
      .selectFrom('audit_checkpoints')
      .selectAll()
      .where('ordinal', 'is not', null)
      .where('kind', 'in', ['unverified', 'acknowledged'])
      .orderBy('ordinal', 'asc')
      .execute();
    assertSigned(relevant, options.checkpointKey);
    const all = unacknowledged(relevant);
    const marks = all.filter((m) => m.seq <= options.throughSeq);
    if (marks.length === 0) {
      const later = all.length === 0 ? '' : ` (${all.length} at later seqs, from seq ${lowest(all.map((m) => m.seq))})`;
      throw new WardenError('conflict', `There is no unacknowledged 'unverified' checkpoint at or below seq ${options.throughSeq}${later}; nothing was written`);
    }
    if (chain.trust !== 'signed') {
      throw new WardenError(
        'conflict',
        'The audit head row is not signed right now: an instance running code older than migration 0010 may still be writing. Stop it, let the service record an event, then acknowledge',
      );
    }
    if (options.expectedOrdinals !== undefined && !sameOrdinals(options.expectedOrdinals, marks)) {
      throw new WardenError('conflict', "The 'unverified' checkpoints changed since they were listed (is an older instance still writing?); run the command again");
    }
    // The newest mark by seq bounds the coverage; any mark at or below it was listed above.
    const bound = marks.reduce((a, b) => (b.seq > a.seq || (b.seq === a.seq && b.ordinal > a.ordinal) ? b : a));
    const acknowledgement = chain.checkpoint('acknowledged', { seq: bound.seq, hash: bound.hash });
    const ordinal = Number(acknowledgement.ordinal);
    const ordinals = marks.map((m) => m.ordinal);
    const head = await chain.append([
      {
        id: randomUUID(),
        occurred_at: options.now,
        action: ACKNOWLEDGED_ACTION,
        actor: options.actor,
        entity_type: ACKNOWLEDGEMENT_ENTITY,
        entity_id: acknowledgement.id,
        outcome: 'success',
        ip: null,
        user_agent: null,
        request_id: null,
        // Ranges, not the list: a long rolling upgrade can leave thousands of marks, and details over 8 KiB are dropped.
        details: redactDetails({
          ...options.context,
          checkpoint_ordinal: ordinal,
          marks: marks.length,
          first_ordinal: ordinals[0],
          last_ordinal: ordinals.at(-1),
          from_seq: lowest(marks.map((m) => m.seq)),
          through_seq: bound.seq,
          reason,
        }),
      },
    ]);
    await chain.seal();
    return { checkpoint_ordinal: ordinal, checkpoint_id: acknowledgement.id, event_seq: head.seq, marks };
  });
}

/** The 'unverified' marks no 'acknowledged' checkpoint covers yet, oldest first. */
function unacknowledged(chained: readonly AuditCheckpointsTable[]): UnverifiedMark[] {
  const covered = acknowledgedMarks(chained);
  return chained
    .filter((c) => c.kind === 'unverified' && !covered.has(Number(c.ordinal)))
    .map((c) => ({ id: c.id, ordinal: Number(c.ordinal), seq: Number(c.seq), hash: c.hash, found_at: Number(c.created_at), previous_checkpoint_seq: null }));
}

/**
 * A row put there without the key must neither become part of what a new signature vouches
 * for nor, as a fake acknowledgement, keep a real mark from being listed.
 */
function assertSigned(checkpoints: readonly AuditCheckpointsTable[], key: Uint8Array): void {
  const forged = checkpoints.find((c) => !constantTimeEqual(signCheckpoint(key, c), c.signature));
  if (forged !== undefined) {
    throw new WardenError('conflict', `Checkpoint ${Number(forged.ordinal)} does not carry a valid signature; run \`warden audit verify\` and investigate before acknowledging`);
  }
}

/** Math.min without spreading, which overflows the argument limit for very long lists. */
function lowest(values: readonly number[]): number {
  return values.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
}

function sameOrdinals(expected: readonly number[], marks: readonly UnverifiedMark[]): boolean {
  const found = new Set(marks.map((m) => m.ordinal));
  return expected.length === found.size && expected.every((o) => found.has(o));
}

function checkThroughSeq(seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 1) throw new WardenError('validation_failed', 'The seq to acknowledge through must be a positive integer');
}

/** The reason as it is stored (trimmed); a `validation_failed` error unless it is one line of at most 500 characters. */
export function acknowledgementReason(reason: string): string {
  // One line, because `warden audit verify` prints it as a note: a newline could fake a line of its own.
  const text = reason.trim();
  const length = [...text].length;
  if (length === 0 || length > MAX_REASON_CHARS || /\p{Cc}/u.test(text)) {
    throw new WardenError('validation_failed', `The reason must be 1 to ${MAX_REASON_CHARS} characters on one line`);
  }
  return text;
}
