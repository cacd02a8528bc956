import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { constantTimeEqual } from '../crypto/constant-time.js';
import { WardenError } from '../errors/index.js';
import type { DatabaseSchema } from '../storage/index.js';
import { GENESIS_HASH, hashEvent, signCheckpoint, signHead, wellFormedEvent, type UnhashedEvent } from './canonical-form.js';
import type { AuditChainHeadTable, AuditCheckpointsTable, AuditEventsTable } from './audit-tables.js';

/** An event ready to be chained: everything but its position and hashes. */
export type PreparedEvent = Omit<UnhashedEvent, 'seq' | 'prev_hash'>;

/** Where the chain ends after an append. */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

/**
 * What a checkpoint states. 'head' and 'prune' are written on purpose; 'legacy' and
 * 'unverified' are written by an append that found a head row it could not authenticate;
 * 'acknowledged' by an operator who accepted earlier 'unverified' marks (audit-acknowledge.ts).
 */
export type CheckpointKind = 'head' | 'prune' | 'legacy' | 'unverified' | 'acknowledged';

/** How the head row found under the lock relates to the checkpoint key. */
export type HeadTrust = 'signed' | 'genesis' | 'legacy' | 'unverified';

type HeadRow = Pick<AuditChainHeadTable, 'seq' | 'hash' | 'checkpoint_ordinal' | 'checkpoint_signature' | 'signature'>;

/** The furthest a process has seen the chain committed: its seq and its newest checkpoint. */
export interface HighWater {
  readonly seq: number;
  readonly ordinal: number;
}

// Per database handle, so per process: neither the seq nor the checkpoint ordinal ever goes
// down, and a correctly signed head below what this process committed itself is an old copy put
// back (with the events and checkpoints after it deleted), which no signature can tell.
const highWaters = new WeakMap<Kysely<DatabaseSchema>, HighWater>();

function raiseHighWater(db: Kysely<DatabaseSchema>, seen: HighWater): void {
  const known = highWaters.get(db);
  if (known === undefined || seen.seq > known.seq || seen.ordinal > known.ordinal) {
    highWaters.set(db, { seq: Math.max(seen.seq, known?.seq ?? 0), ordinal: Math.max(seen.ordinal, known?.ordinal ?? 0) });
  }
}

/**
 * The head's trust, with what a signature cannot show: a signed head older than this process's
 * high water mark was put back, and an untouched genesis head after this process wrote to the
 * log, or beside stored checkpoints, was reset
 * (trusted as new, it would number checkpoints from 1 again and collide with the stored ones).
 */
async function trustOf(trx: Transaction<DatabaseSchema>, key: Uint8Array, row: HeadRow, highWater: HighWater | undefined): Promise<HeadTrust> {
  const trust = classifyHead(key, row);
  if (trust === 'signed' && highWater !== undefined && (Number(row.seq) < highWater.seq || Number(row.checkpoint_ordinal) < highWater.ordinal)) return 'unverified';
  if (trust === 'genesis') {
    // Emptied under a process that has written to it: not a new log.
    if (highWater !== undefined && (highWater.seq > 0 || highWater.ordinal > 0)) return 'unverified';
    const checkpoint = await trx.selectFrom('audit_checkpoints').select('id').limit(1).executeTakeFirst();
    if (checkpoint !== undefined) return 'unverified';
  }
  return trust;
}

/** Rows per INSERT statement: well below SQLite's and PostgreSQL's bound-parameter limits. */
const ROWS_PER_STATEMENT = 500;

/**
 * Whether a head row is the one the service last signed. An unsigned row is trusted only as
 * the untouched genesis of a new log; an unsigned row with history is a log written before
 * migration 0010 ('legacy'); anything else was written without the key ('unverified').
 */
export function classifyHead(key: Uint8Array, head: HeadRow): HeadTrust {
  const seal = {
    seq: Number(head.seq),
    hash: head.hash,
    checkpoint_ordinal: Number(head.checkpoint_ordinal),
    checkpoint_signature: head.checkpoint_signature,
  };
  if (head.signature !== null) return constantTimeEqual(signHead(key, seal), head.signature) ? 'signed' : 'unverified';
  if (seal.checkpoint_ordinal !== 0 || seal.checkpoint_signature !== null) return 'unverified';
  return seal.seq === 0 && seal.hash === GENESIS_HASH ? 'genesis' : 'legacy';
}

/**
 * The chain inside one append transaction, from the locked head to the signed head written by
 * `seal()`. Events are inserted as they are appended; checkpoints are queued and written
 * together with the head, so a batch costs the same statements whether or not it checkpoints.
 */
export class LockedChain {
  readonly #trx: Transaction<DatabaseSchema>;
  readonly #key: Uint8Array;
  readonly #now: number;
  readonly #trust: HeadTrust;
  #head: ChainHead;
  #checkpointOrdinal: number;
  #checkpointSignature: string | null;
  #pending: AuditCheckpointsTable[] = [];
  #moved = false;

  private constructor(trx: Transaction<DatabaseSchema>, key: Uint8Array, now: number, row: HeadRow, trust: HeadTrust) {
    this.#trx = trx;
    this.#key = key;
    this.#now = now;
    this.#trust = trust;
    this.#head = { seq: Number(row.seq), hash: row.hash };
    this.#checkpointOrdinal = Number(row.checkpoint_ordinal);
    this.#checkpointSignature = row.checkpoint_signature;
  }

  /**
   * Locks the chain head for the rest of the transaction and authenticates it. The UPDATE
   * takes a row lock on PostgreSQL (a second instance waits here and then sees the committed
   * head, READ COMMITTED re-reads the row) and the database write lock on SQLite.
   */
  private static async lock(trx: Transaction<DatabaseSchema>, key: Uint8Array, now: number, highWater?: HighWater): Promise<LockedChain> {
    const row = await trx
      .updateTable('audit_chain_head')
      .set({ updated_at: now })
      .where('id', '=', 'head')
      .returning(['seq', 'hash', 'checkpoint_ordinal', 'checkpoint_signature', 'signature'])
      .executeTakeFirst();
    if (row === undefined) throw new WardenError('audit_unavailable', 'The audit chain head row is missing (are migrations 0003 and 0010 applied?)');
    const chain = new LockedChain(trx, key, now, row, await trustOf(trx, key, row, highWater));
    // Signing on top of a head it cannot authenticate would launder whatever was done to it
    // (a cut tail, a rewritten head). Refusing would stop every audited action; instead the
    // found head is pinned in a signed checkpoint that verification reports until an operator
    // acknowledges it.
    if (chain.#trust === 'legacy' || chain.#trust === 'unverified') {
      const chainedOntoStored = await chain.#chainOntoNewestStoredCheckpoint();
      // Taking over an unsigned head as 'legacy' is only believable before any checkpoint existed.
      chain.checkpoint(chain.#trust === 'legacy' && !chainedOntoStored ? 'legacy' : 'unverified', chain.head);
    }
    return chain;
  }

  /**
   * An untrusted head's checkpoint fields are untrusted too. When they name a checkpoint no
   * newer than one stored (a head reset to ordinal 0, say), the mark follows the newest stored
   * checkpoint instead: following the head would collide with a stored ordinal and fail every
   * append, or leave a link verification can never accept, so the mark could never be
   * acknowledged. When the head names a newer one than is stored, checkpoints were deleted, and
   * the mark keeps following the head so that verification keeps reporting the gap.
   */
  async #chainOntoNewestStoredCheckpoint(): Promise<boolean> {
    const newest = await this.#trx
      .selectFrom('audit_checkpoints')
      .select(['ordinal', 'signature'])
      .where('ordinal', 'is not', null)
      .orderBy('ordinal', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (newest === undefined || Number(newest.ordinal) < this.#checkpointOrdinal) return false;
    this.#checkpointOrdinal = Number(newest.ordinal);
    this.#checkpointSignature = newest.signature;
    return true;
  }

  /**
   * Runs `work` on the locked chain in one transaction; once it has committed, the process's high
   * water mark moves to the head it left. Every writer of the chain goes through here.
   */
  static async run<T>(db: Kysely<DatabaseSchema>, key: Uint8Array, now: number, work: (chain: LockedChain, trx: Transaction<DatabaseSchema>) => Promise<T>): Promise<T> {
    let locked: LockedChain | undefined;
    const result = await db.transaction().execute(async (trx) => {
      locked = await LockedChain.lock(trx, key, now, highWaters.get(db));
      return work(locked, trx);
    });
    if (locked !== undefined) {
      const left = { seq: locked.#head.seq, ordinal: locked.#checkpointOrdinal };
      // Taking over a head it could not trust (and pinning it in a mark) starts from that head:
      // what was committed before it no longer bounds what comes next.
      if (locked.#trust === 'signed' || locked.#trust === 'genesis') raiseHighWater(db, left);
      else highWaters.set(db, left);
    }
    return result;
  }

  /** How the head row found under the lock was classified (before this transaction changed anything). */
  get trust(): HeadTrust {
    return this.#trust;
  }

  /** The current end of the chain (moved by `append`). */
  get head(): ChainHead {
    return this.#head;
  }

  /** Inserts events after the current head and returns the new head (the head row moves in `seal`). */
  async append(events: readonly PreparedEvent[]): Promise<ChainHead> {
    let seq = this.#head.seq;
    let prev = this.#head.hash;
    const rows: AuditEventsTable[] = events.map((event) => {
      seq += 1;
      const unhashed: UnhashedEvent = { ...wellFormedEvent(event), seq, prev_hash: prev };
      prev = hashEvent(unhashed);
      return { ...unhashed, hash: prev };
    });
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      await this.#trx.insertInto('audit_events').values(rows.slice(i, i + ROWS_PER_STATEMENT)).execute();
    }
    if (rows.length > 0) {
      this.#head = { seq, hash: prev };
      this.#moved = true;
    }
    return this.#head;
  }

  /** Queues a signed checkpoint of `at`, chained to the previous checkpoint, and returns it; `seal` writes it. */
  checkpoint(kind: CheckpointKind, at: ChainHead): Readonly<AuditCheckpointsTable> {
    const unsigned = {
      id: randomUUID(),
      seq: at.seq,
      hash: at.hash,
      created_at: this.#now,
      kind,
      ordinal: this.#checkpointOrdinal + 1,
      prev_signature: this.#checkpointSignature,
    };
    const signature = signCheckpoint(this.#key, unsigned);
    const row = { ...unsigned, signature };
    this.#pending.push(row);
    this.#checkpointOrdinal = unsigned.ordinal;
    this.#checkpointSignature = signature;
    return row;
  }

  /** Writes the queued checkpoints and the signed head row; nothing when neither changed. */
  async seal(): Promise<ChainHead> {
    if (this.#pending.length > 0) await this.#trx.insertInto('audit_checkpoints').values(this.#pending).execute();
    if (this.#moved || this.#pending.length > 0) {
      const seal = { ...this.#head, checkpoint_ordinal: this.#checkpointOrdinal, checkpoint_signature: this.#checkpointSignature };
      await this.#trx
        .updateTable('audit_chain_head')
        .set({ ...seal, signature: signHead(this.#key, seal) })
        .where('id', '=', 'head')
        .execute();
    }
    this.#pending = [];
    this.#moved = false;
    return this.#head;
  }
}

export interface AppendOptions {
  readonly now: number;
  /** The checkpoint key: signs the head on every append, and the checkpoint when there is one. */
  readonly key: Uint8Array;
  /** Also store a signed checkpoint of the new head. */
  readonly checkpoint?: boolean;
}

/** Appends events as one committed transaction (the chain stays one chain across instances). */
export function appendEvents(db: Kysely<DatabaseSchema>, events: readonly PreparedEvent[], options: AppendOptions): Promise<ChainHead> {
  return LockedChain.run(db, options.key, options.now, async (chain) => {
    const head = await chain.append(events);
    if (options.checkpoint === true && head.seq > 0) chain.checkpoint('head', head);
    return chain.seal();
  });
}

/** Stores a signed checkpoint of the current head (nothing when the chain is empty). */
export function checkpointHead(db: Kysely<DatabaseSchema>, key: Uint8Array, now: number): Promise<ChainHead> {
  return LockedChain.run(db, key, now, async (chain) => {
    if (chain.head.seq > 0) chain.checkpoint('head', chain.head);
    return chain.seal();
  });
}
