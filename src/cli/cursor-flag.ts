import { ValidationError } from '../errors/index.js';
import { decodePositionCursor, decodeSequenceCursor, type CursorTag } from '../storage/keyset-cursor.js';
import { CliFailure } from './cli-io.js';
import { EXIT } from './exit-codes.js';

/**
 * A --cursor flag, checked before the database is opened: one that no earlier page of
 * `command` printed is a usage error (exit 2), not a failure of the command.
 */
export function cursorFlag(cursor: string | undefined, tag: CursorTag, command: string): string | undefined {
  if (cursor === undefined) return undefined;
  try {
    if (tag === 's') decodeSequenceCursor(tag, cursor);
    else decodePositionCursor(tag, cursor);
  } catch (error) {
    if (error instanceof ValidationError) throw new CliFailure(`--cursor is not a next cursor printed by \`warden ${command}\``, EXIT.usage);
    throw error;
  }
  return cursor;
}
