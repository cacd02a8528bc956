import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { WardenError } from '../errors/index.js';
import { redactUserAgent } from '../redact/index.js';
import type { Storage } from '../storage/index.js';
import { appendEvents, checkpointHead, type PreparedEvent } from './audit-chain.js';
import { AUDIT_ACTIONS, type AuditEventInput, type AuditRecorder } from './audit-event.js';
import { samplingOf } from './audit-sampling.js';
import { EventSampler } from './event-sampler.js';
import { redactDetails } from './redact-details.js';

const KNOWN_ACTIONS: ReadonlySet<string> = new Set(AUDIT_ACTIONS);
const OUTCOMES: ReadonlySet<string> = new Set(['success', 'failure', 'denied']);
const MAX_FIELD_CHARS = 512;

export interface AuditLogOptions {
  readonly storage: Storage;
  readonly logger: Logger;
  /** HMAC key for signed checkpoints (derive it with deriveKey(secret, 'audit-checkpoint:v1')). */
  readonly checkpointKey: Uint8Array;
  /** Longest wait before a queued event is committed (the durability window). @default 2 */
  readonly flushIntervalMs?: number;
  /** Commit at once when this many events are queued. @default 1000 */
  readonly maxBatch?: number;
  /** A signed head checkpoint is written with the first flush after this long. @default 60000 */
  readonly checkpointIntervalMs?: number;
  /** At most one ratelimit.blocked event per actor and entity in this window. @default 10000 */
  readonly blockSampleWindowMs?: number;
  /**
   * At most one refused anonymous credential (unidentified API key, unknown or locked-out OAuth
   * client) per source address, action and kind in this window (`audit-sampling.ts`). @default 60000
   */
  readonly failureSampleWindowMs?: number;
  readonly now?: () => number;
}

/** The service's audit recorder, plus what the composition root needs to shut it down. */
export interface AuditLog extends AuditRecorder {
  /** Commits everything queued so far. */
  flush(): Promise<void>;
  /** Flushes, then stores a signed checkpoint of the chain head. */
  checkpoint(): Promise<void>;
  /** Flushes, writes a final checkpoint, and refuses later events. */
  close(): Promise<void>;
}

interface Pending {
  readonly event: PreparedEvent;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  /** A sampled event's admission, taken back when its commit fails. */
  readonly admission?: { readonly sampler: EventSampler; readonly key: string; readonly at: number; readonly carried: number };
}

/**
 * Group commit: `record` queues the event and resolves only after the transaction that holds
 * it committed. A batch is committed every `flushIntervalMs` or at `maxBatch` events, one
 * transaction at a time, so the chain is built in order and an fsync serves many events.
 */
export function createAuditLog(options: AuditLogOptions): AuditLog {
  const now = options.now ?? Date.now;
  const flushIntervalMs = options.flushIntervalMs ?? 2;
  const maxBatch = options.maxBatch ?? 1000;
  const checkpointIntervalMs = options.checkpointIntervalMs ?? 60_000;
  const samplers = {
    block: new EventSampler(options.blockSampleWindowMs ?? 10_000),
    failure: new EventSampler(options.failureSampleWindowMs ?? 60_000),
  };
  let queue: Pending[] = [];
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> | undefined;
  let waitingRun: Promise<void> | undefined;
  let lastCheckpointAt = now();
  let closed = false;

  const schedule = (): void => {
    if (queue.length >= maxBatch) void flushNow();
    else timer ??= setTimeout(() => void flushNow(), flushIntervalMs);
  };

  const writeBatch = async (batch: Pending[]): Promise<void> => {
    const at = now();
    const checkpoint = at - lastCheckpointAt >= checkpointIntervalMs;
    try {
      await appendEvents(options.storage.db, batch.map((p) => p.event), { now: at, key: options.checkpointKey, checkpoint });
      if (checkpoint) lastCheckpointAt = at;
      for (const p of batch) p.resolve();
    } catch (error) {
      options.logger.error({ err: error, events: batch.length }, 'audit events could not be committed');
      const failure = new WardenError('audit_unavailable', 'The audit log could not be written', { cause: error });
      for (const p of batch) {
        // Else the window's first event is lost and the rest of the window's are only counted.
        if (p.admission !== undefined) p.admission.sampler.withdraw(p.admission.key, p.admission.at, p.admission.carried);
        p.reject(failure);
      }
    }
  };

  // One flush at a time; events queued meanwhile go into the next batch.
  const flushNow = (): Promise<void> => {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    // A run already waiting behind the current one will take everything queued by then.
    if (waitingRun !== undefined) return waitingRun;
    const previous = flushing ?? Promise.resolve();
    const run = previous.then(async () => {
      waitingRun = undefined;
      while (queue.length > 0) {
        const batch = queue.slice(0, maxBatch);
        queue = queue.slice(batch.length);
        await writeBatch(batch);
      }
    });
    // writeBatch never throws, so the chain of flushes cannot break.
    const tracked: Promise<void> = run.then(() => {
      if (flushing === tracked) flushing = undefined;
    });
    flushing = tracked;
    waitingRun = run;
    return run;
  };

  const checkpoint = async (): Promise<void> => {
    await flushNow();
    const at = now();
    await checkpointHead(options.storage.db, options.checkpointKey, at);
    lastCheckpointAt = at;
  };

  return {
    record(input: AuditEventInput): Promise<void> {
      if (closed) return Promise.reject(new WardenError('audit_unavailable', 'The audit log is closed'));
      if (!KNOWN_ACTIONS.has(input.action)) return Promise.reject(new TypeError(`unknown audit action ${String(input.action)}`));
      if (!OUTCOMES.has(input.outcome)) return Promise.reject(new TypeError(`unknown audit outcome ${String(input.outcome)}`));
      if (typeof input.actor !== 'string' || input.actor === '') return Promise.reject(new TypeError('audit events need an actor'));
      const at = now();
      let details = input.details;
      let admission: Pending['admission'];
      const sampling = samplingOf(input);
      if (sampling !== undefined) {
        const sampler = samplers[sampling.sampler];
        const decision = sampler.admit(sampling.key, at);
        if (!decision.record) return Promise.resolve();
        if (decision.suppressed > 0) details = { ...details, suppressed_since_last: decision.suppressed };
        admission = { sampler, key: sampling.key, at, carried: decision.suppressed };
      }
      const event: PreparedEvent = {
        id: randomUUID(),
        occurred_at: at,
        action: input.action,
        actor: clip(input.actor) as string,
        entity_type: clip(input.entity_type),
        entity_id: clip(input.entity_id),
        outcome: input.outcome,
        ip: clip(input.ip),
        // Redacted before it is clipped (a cut could leave half a secret that no pattern knows).
        user_agent: clip(redactUserAgent(input.user_agent)),
        request_id: clip(input.request_id),
        details: redactDetails(details, input.action),
      };
      return new Promise<void>((resolve, reject) => {
        queue.push({ event, resolve, reject, ...(admission === undefined ? {} : { admission }) });
        schedule();
      });
    },
    flush: () => flushNow(),
    checkpoint: () => checkpoint(),
    async close() {
      if (closed) return;
      closed = true;
      await checkpoint();
    },
  };
}

/**
 * The first MAX_FIELD_CHARS code points: cutting at a UTF-16 index could split a surrogate
 * pair and leave a lone half, which the databases store as U+FFFD.
 */
function clip(value: string | undefined): string | null {
  if (value === undefined || value === null) return null;
  if (value.length <= MAX_FIELD_CHARS) return value;
  let end = 0;
  for (let points = 0; points < MAX_FIELD_CHARS && end < value.length; points += 1) {
    end += (value.codePointAt(end) ?? 0) > 0xffff ? 2 : 1;
  }
  return value.slice(0, end);
}
