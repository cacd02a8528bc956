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

/** HMAC-SHA256 (hex) over a checkpoint's fields, with the key derived for audit checkpoints. */
export function signCheckpoint(key: Uint8Array, checkpoint: Omit<AuditCheckpointsTable, 'signature'>): string {
  const message = stableStringify({
    v: 1,
    id: checkpoint.id,
    seq: Number(checkpoint.seq),
    hash: checkpoint.hash,
    created_at: Number(checkpoint.created_at),
    kind: checkpoint.kind,
  });
  return createHmac('sha256', key).update(message).digest('hex');
}
