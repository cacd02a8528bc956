import type { Kysely, SelectQueryBuilder } from 'kysely';
import { ValidationError } from '../errors/index.js';
import type { DatabaseSchema } from '../storage/index.js';
import { decodeSequenceCursor, encodeSequenceCursor, pageOf } from '../storage/keyset-cursor.js';
import { parseRfc3339 } from '../config/rfc3339.js';
import type { AuditEventsTable } from './audit-tables.js';

/** Filters of `GET /v1/audit`, `warden audit query` and `export`; all optional, combined with AND. */
export interface AuditFilter {
  readonly action?: string;
  readonly actor?: string;
  readonly entity_type?: string;
  readonly entity_id?: string;
  readonly outcome?: string;
  /** Inclusive lower bound, epoch ms. */
  readonly since?: number;
  /** Exclusive upper bound, epoch ms. */
  readonly until?: number;
}

/** An event as the API and the exports show it (snake_case, ISO time, details parsed). */
export interface AuditEventView {
  readonly id: string;
  readonly seq: number;
  readonly occurred_at: string;
  readonly action: string;
  readonly actor: string;
  readonly entity_type: string | null;
  readonly entity_id: string | null;
  readonly outcome: string;
  readonly ip: string | null;
  readonly user_agent: string | null;
  readonly request_id: string | null;
  readonly details: Record<string, unknown> | null;
  readonly prev_hash: string;
  readonly hash: string;
}

export interface AuditPage {
  readonly data: AuditEventView[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  readonly next_cursor: string | null;
}

type EventQuery = SelectQueryBuilder<DatabaseSchema, 'audit_events', AuditEventsTable>;

function applyFilter(query: EventQuery, filter: AuditFilter): EventQuery {
  let q = query;
  if (filter.action !== undefined) q = q.where('action', '=', filter.action);
  if (filter.actor !== undefined) q = q.where('actor', '=', filter.actor);
  if (filter.entity_type !== undefined) q = q.where('entity_type', '=', filter.entity_type);
  if (filter.entity_id !== undefined) q = q.where('entity_id', '=', filter.entity_id);
  if (filter.outcome !== undefined) q = q.where('outcome', '=', filter.outcome);
  if (filter.since !== undefined) q = q.where('occurred_at', '>=', filter.since);
  if (filter.until !== undefined) q = q.where('occurred_at', '<', filter.until);
  return q;
}

/** The stored row as shown to readers. */
export function toView(row: AuditEventsTable): AuditEventView {
  return {
    id: row.id,
    seq: Number(row.seq),
    occurred_at: new Date(Number(row.occurred_at)).toISOString(),
    action: row.action,
    actor: row.actor,
    entity_type: row.entity_type,
    entity_id: row.entity_id,
    outcome: row.outcome,
    ip: row.ip,
    user_agent: row.user_agent,
    request_id: row.request_id,
    details: row.details === null ? null : (JSON.parse(row.details) as Record<string, unknown>),
    prev_hash: row.prev_hash,
    hash: row.hash,
  };
}

/** One page of matching events, newest first (by chain position). */
export async function queryEvents(
  db: Kysely<DatabaseSchema>,
  filter: AuditFilter,
  page: { limit: number; cursor?: string },
): Promise<AuditPage> {
  let query = applyFilter(db.selectFrom('audit_events').selectAll(), filter);
  if (page.cursor !== undefined) query = query.where('seq', '<', decodeSequenceCursor('s', page.cursor));
  const rows = await query
    .orderBy('seq', 'desc')
    .limit(page.limit + 1)
    .execute();
  return pageOf(rows.map(toView), page.limit, (last) => encodeSequenceCursor('s', last.seq));
}

/** Every matching event oldest first, in pages, for JSONL export to a SIEM. */
export async function* exportEvents(
  db: Kysely<DatabaseSchema>,
  filter: AuditFilter,
  pageSize = 1000,
): AsyncGenerator<AuditEventView> {
  let after = 0;
  for (;;) {
    const rows = await applyFilter(db.selectFrom('audit_events').selectAll(), filter)
      .where('seq', '>', after)
      .orderBy('seq', 'asc')
      .limit(pageSize)
      .execute();
    for (const row of rows) yield toView(row);
    const last = rows.at(-1);
    if (last === undefined || rows.length < pageSize) return;
    after = Number(last.seq);
  }
}

/**
 * Resolves `since`/`until` (ISO 8601 or epoch ms) and `hours` (last N hours) to epoch ms.
 * `hours` and `since` are exclusive alternatives.
 */
export function timeRange(
  input: { since?: string; until?: string; hours?: number },
  now: number,
): { since?: number; until?: number } {
  if (input.hours !== undefined && input.since !== undefined)
    throw new ValidationError('Use either hours or since, not both', { field: 'hours' });
  const out: { since?: number; until?: number } = {};
  if (input.hours !== undefined) out.since = now - input.hours * 3_600_000;
  if (input.since !== undefined) out.since = parseTime(input.since, 'since');
  if (input.until !== undefined) out.until = parseTime(input.until, 'until');
  // Not an empty page: a range that ends where or before it starts (until is exclusive) is a
  // mistake in the request.
  if (out.since !== undefined && out.until !== undefined && out.since >= out.until) {
    throw new ValidationError('until must be after since (since is inclusive, until exclusive): the time range is empty', { field: 'until' });
  }
  return out;
}

/**
 * An audit time bound (`since`, `until`, the CLI's `--before`): epoch ms or an RFC 3339 date or
 * date-time with an offset; anything else is a ValidationError naming `field`.
 */
export function parseTime(value: string, field: string): number {
  const ms = /^[0-9]{1,15}$/.test(value) ? Number(value) : parseRfc3339(value);
  if (ms === undefined || !Number.isFinite(ms)) {
    throw new ValidationError(
      `${field} must be epoch milliseconds or an RFC 3339 date or date-time with Z or an offset (e.g. 2026-12-01T00:00:00Z)`,
      { field },
    );
  }
  return ms;
}

