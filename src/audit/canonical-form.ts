import { createHash, createHmac } from 'node:crypto';
import type { AuditCheckpointsTable, AuditEventsTable } from './audit-tables.js';

/** The prev_hash of the first event of a chain that was never pruned. */
export const GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted at every depth, so equal values always give equal text. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => stableStringify(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
}

/** Every stored column except the event's own hash. */
export type UnhashedEvent = Omit<AuditEventsTable, 'hash'>;

/**
 * SHA-256 (hex) of an event's canonical form: the sorted-key JSON of all its columns
 * (timestamps as epoch ms, absent values as null), prev_hash included, so that editing,
 * deleting or reordering any row breaks the link to its successor.
 */
export function hashEvent(event: UnhashedEvent): string {
  return createHash('sha256').update(canonicalEvent(event)).digest('hex');
}

/**
 * The canonical text of an event: exactly `stableStringify` of its columns plus `v: 1`
 * (keys in sorted order), built directly because it runs once per event on the write path.
 * Its strings must be well-formed (see `wellFormedEvent`): JSON.stringify escapes a lone
 * surrogate as `\udxxx`, while both databases store it as U+FFFD, so a row hashed with one
 * would never verify once read back.
 */
export function canonicalEvent(event: UnhashedEvent): string {
  const j = (value: string | null | undefined): string => (value === null || value === undefined ? 'null' : JSON.stringify(value));
  return (
    `{"action":${j(event.action)},"actor":${j(event.actor)},"details":${j(event.details)},` +
    `"entity_id":${j(event.entity_id)},"entity_type":${j(event.entity_type)},"id":${j(event.id)},"ip":${j(event.ip)},` +
    `"occurred_at":${String(Number(event.occurred_at))},"outcome":${j(event.outcome)},"prev_hash":${j(event.prev_hash)},` +
    `"request_id":${j(event.request_id)},"seq":${String(Number(event.seq))},"user_agent":${j(event.user_agent)},"v":1}`
  );
}

// Node 20 has String.prototype.toWellFormed, but the project's lib (ES2023) does not declare it.
const toWellFormed = (String.prototype as unknown as { toWellFormed(this: string): string }).toWellFormed;

/**
 * The string with every lone surrogate and every U+0000 replaced by U+FFFD, i.e. exactly what
 * both databases store: PostgreSQL refuses NUL in text, and one such event would fail the
 * whole group-committed batch, every other caller's event with it.
 */
export function wellFormed(value: string): string {
  const text = toWellFormed.call(value);
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
}

/** The event with every text column made well-formed, so the row that is hashed is the row that is stored. */
export function wellFormedEvent<T extends Omit<UnhashedEvent, 'seq' | 'prev_hash'>>(event: T): T {
  const opt = (value: string | null): string | null => (value === null ? null : wellFormed(value));
  return {
    ...event,
    id: wellFormed(event.id),
    action: wellFormed(event.action),
    actor: wellFormed(event.actor),
    entity_type: opt(event.entity_type),
    entity_id: opt(event.entity_id),
    outcome: wellFormed(event.outcome),
    ip: opt(event.ip),
    user_agent: opt(event.user_agent),
    request_id: opt(event.request_id),
    details: opt(event.details),
  };
}

/** A checkpoint as signed: rows written before migration 0010 have no ordinal and no prev_signature. */
export type UnsignedCheckpoint = Omit<AuditCheckpointsTable, 'signature' | 'ordinal' | 'prev_signature'> & {
  readonly ordinal?: number | null;
  readonly prev_signature?: string | null;
};

/**
 * HMAC-SHA256 (hex) over a checkpoint, with the key derived for audit checkpoints. A chained
 * checkpoint (one with an ordinal) also covers its ordinal and its predecessor's signature, so
 * removing any checkpoint breaks the signature chain after it; a checkpoint without an ordinal
 * was written before migration 0010 and keeps its original (v1) message.
 */
export function signCheckpoint(key: Uint8Array, checkpoint: UnsignedCheckpoint): string {
  const common = { id: checkpoint.id, seq: Number(checkpoint.seq), hash: checkpoint.hash, created_at: Number(checkpoint.created_at), kind: checkpoint.kind };
  const message =
    checkpoint.ordinal === null || checkpoint.ordinal === undefined
      ? stableStringify({ v: 1, ...common })
      : stableStringify({ v: 2, type: 'checkpoint', ...common, ordinal: Number(checkpoint.ordinal), prev_signature: checkpoint.prev_signature ?? null });
  return createHmac('sha256', key).update(message).digest('hex');
}

/** What a head signature covers: where the event chain ends and where the checkpoint chain ends. */
export interface HeadSeal {
  readonly seq: number;
  readonly hash: string;
  readonly checkpoint_ordinal: number;
  readonly checkpoint_signature: string | null;
}

/**
 * HMAC-SHA256 (hex) over the chain head. The `type` field keeps a head signature and a
 * checkpoint signature from ever being valid for each other's message.
 */
export function signHead(key: Uint8Array, head: HeadSeal): string {
  const message = stableStringify({
    v: 2,
    type: 'head',
    seq: Number(head.seq),
    hash: head.hash,
    checkpoint_ordinal: Number(head.checkpoint_ordinal),
    checkpoint_signature: head.checkpoint_signature,
  });
  return createHmac('sha256', key).update(message).digest('hex');
}
