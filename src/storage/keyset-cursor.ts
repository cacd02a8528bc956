import { ValidationError } from '../errors/index.js';

/** A place in a list ordered by (created_at, id): the last row of a page. */
export interface KeysetPosition {
  readonly createdAt: number;
  readonly id: string;
}

/**
 * Which list a cursor belongs to. The tag is inside the encoding, so a cursor of one list is
 * refused by another rather than read as a position there.
 */
export type CursorTag = 'k' | 'u' | 'c' | 's';

/** The one message every list gives for a cursor it did not make. */
function notACursor(): ValidationError {
  return new ValidationError('cursor is not a next_cursor returned by this list', { field: 'cursor' });
}

/** Encodes the fields of a list position as an opaque cursor (base64url of `tag:field:field`). */
export function encodeCursor(tag: CursorTag, fields: readonly (string | number)[]): string {
  return Buffer.from([tag, ...fields].join(':'), 'utf8').toString('base64url');
}

/**
 * The fields a cursor of encodeCursor holds, matched against `shape` (a pattern of the text
 * after `tag:`, one group per field); a 400 `validation_failed` naming `cursor` otherwise.
 */
export function decodeCursor(tag: CursorTag, cursor: string, shape: RegExp): string[] {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  // Node's base64url decoder skips characters outside the alphabet and padding: only the exact
  // encoding of a position is a cursor, so nothing but what encodeCursor made is accepted.
  if (!text.startsWith(`${tag}:`) || Buffer.from(text, 'utf8').toString('base64url') !== cursor) throw notACursor();
  const match = shape.exec(text.slice(tag.length + 1));
  if (match === null) throw notACursor();
  return match.slice(1).map((field) => field ?? '');
}

// A millisecond timestamp (no leading zeros, safe integer size) and a printable id.
const POSITION = /^(0|[1-9][0-9]{0,15}):([\x21-\x7e]{1,100})$/;

/** The opaque cursor of the page that follows `position` in a (created_at, id) list. */
export function encodePositionCursor(tag: CursorTag, position: KeysetPosition): string {
  return encodeCursor(tag, [position.createdAt, position.id]);
}

/** The position a cursor of encodePositionCursor names; a 400 `validation_failed` naming `cursor` for anything else. */
export function decodePositionCursor(tag: CursorTag, cursor: string): KeysetPosition {
  const [createdAt, id] = decodeCursor(tag, cursor, POSITION);
  const at = Number(createdAt);
  if (!Number.isSafeInteger(at) || id === undefined) throw notACursor();
  return { createdAt: at, id };
}

/** The opaque cursor of the page that follows a row numbered `seq` (a list ordered by a sequence). */
export function encodeSequenceCursor(tag: CursorTag, seq: number): string {
  return encodeCursor(tag, [seq]);
}

/** The sequence number a cursor of encodeSequenceCursor names; a 400 `validation_failed` naming `cursor` for anything else. */
export function decodeSequenceCursor(tag: CursorTag, cursor: string): number {
  const seq = Number(decodeCursor(tag, cursor, /^([1-9][0-9]{0,15})$/)[0]);
  if (!Number.isSafeInteger(seq)) throw notACursor();
  return seq;
}

/** One page of a list: its rows, and the cursor of the next page, null on the last. */
export interface ListPage<T> {
  readonly data: T[];
  readonly next_cursor: string | null;
}

/**
 * The page of `rows`, read with `limit + 1`: the extra row only tells that another page
 * follows, so the last page has no cursor even when the count is a multiple of `limit`.
 */
export function pageOf<T>(rows: readonly T[], limit: number, cursorOf: (last: T) => string): ListPage<T> {
  const data = rows.slice(0, limit);
  const last = data.at(-1);
  return { data, next_cursor: rows.length > limit && last !== undefined ? cursorOf(last) : null };
}
