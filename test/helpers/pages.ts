import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';

/** The answer of every paginated list of the HTTP API (docs/architecture.md, "Lists"). */
export interface Page<T> {
  readonly data: T[];
  readonly next_cursor: string | null;
}

/**
 * Reads a list from its first page to its last, `limit` rows at a time, and checks the paging
 * rule on every page: a full page has a cursor, the last page (and only it) has none and is
 * not empty unless the whole list is. `between` runs after each page but the last (e.g. to
 * insert rows while a client pages). Returns every row in the order served.
 */
export async function readAllPages<T>(
  app: FastifyInstance,
  url: string,
  headers: Record<string, string>,
  limit: number,
  between?: (pageIndex: number) => Promise<void>,
): Promise<T[]> {
  const rows: T[] = [];
  const separator = url.includes('?') ? '&' : '?';
  let cursor: string | null = null;
  for (let index = 0; index < 1000; index += 1) {
    const query: string = `limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
    const response = await app.inject({ url: `${url}${separator}${query}`, headers });
    expect(response.statusCode, response.body).toBe(200);
    const page: Page<T> = response.json<Page<T>>();
    expect(Object.keys(page).sort()).toEqual(['data', 'next_cursor']);
    expect(page.data.length).toBeLessThanOrEqual(limit);
    rows.push(...page.data);
    if (page.next_cursor === null) {
      // Only an empty list has an empty page: one row more is read to know a page is the last.
      if (index > 0) expect(page.data.length, `page ${index} is the last one and empty`).toBeGreaterThan(0);
      return rows;
    }
    expect(page.data).toHaveLength(limit);
    cursor = page.next_cursor;
    await between?.(index);
  }
  throw new Error(`${url} did not reach a last page`);
}

/** A cursor in the format of another list (keys `k:`, users `u:`, clients `c:`, audit `s:`), base64url like the real ones. */
export function cursorOf(kind: 'keys' | 'users' | 'clients' | 'audit', createdAt = Date.now(), id = '00000000-0000-4000-8000-000000000000'): string {
  const text = kind === 'audit' ? 's:1' : `${{ keys: 'k', users: 'u', clients: 'c' }[kind]}:${createdAt}:${id}`;
  return Buffer.from(text).toString('base64url');
}

/**
 * Cursors no list may accept as its own: SQL, base64url of other text, the real cursor
 * with bytes its decoder would skip or padding, a cursor of another kind with `valid`'s
 * position, and `foreign` (cursors of the other lists).
 */
export function forgedCursors(valid: string, foreign: readonly string[]): string[] {
  const text = Buffer.from(valid, 'base64url').toString('utf8');
  const otherKind = `${text.startsWith('k:') ? 'u' : 'k'}${text.slice(1)}`;
  const b64 = (s: string): string => Buffer.from(s).toString('base64url');
  return [
    "' OR 1=1 --",
    b64("' OR 1=1 --"),
    b64('hello world'),
    b64(`${text}' OR '1'='1`),
    b64(text.replace(/:(\d+):/, ':-1:')),
    b64(text.replace(/:(\d+):/, ':99999999999999999999:')),
    `${valid}!!`,
    `${valid}=`,
    Buffer.from(text).toString('base64'),
    b64(otherKind),
    'x'.repeat(201),
    ...foreign,
  ].filter((cursor) => cursor !== valid);
}

/** Asks for `url` with each cursor and expects 400 `validation_failed` naming `cursor` every time. */
export async function expectCursorsRefused(app: FastifyInstance, url: string, headers: Record<string, string>, cursors: readonly string[]): Promise<void> {
  const separator = url.includes('?') ? '&' : '?';
  for (const cursor of cursors) {
    const response = await app.inject({ url: `${url}${separator}cursor=${encodeURIComponent(cursor)}`, headers });
    expect(response.statusCode, `cursor ${JSON.stringify(cursor)}: ${response.body}`).toBe(400);
    const body = response.json<{ code: string; detail: string }>();
    expect(body.code).toBe('validation_failed');
    expect(body.detail, cursor).toMatch(/cursor/);
  }
}

/** Asks for `url` with each query and expects 400 `validation_failed` (unknown fields, out-of-range limits). */
export async function expectQueriesRefused(app: FastifyInstance, url: string, headers: Record<string, string>, queries: readonly string[]): Promise<void> {
  for (const query of queries) {
    const response = await app.inject({ url: `${url}?${query}`, headers });
    expect(response.statusCode, `${query}: ${response.body}`).toBe(400);
    expect(response.json<{ code: string }>().code).toBe('validation_failed');
  }
}
