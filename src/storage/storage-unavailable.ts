import { maskUrlCredentials, scrubUrlSecrets } from '../config/mask-url.js';
import { WardenError } from '../errors/index.js';

/**
 * The database cannot be opened, reached or migrated (code storage_unavailable). `message` stays
 * generic because it may reach an HTTP body (e.g. through a request that pings); `reason` is the
 * driver's explanation and `target` the database it was about, for operators only: the CLI and
 * the start-up output print them. Neither ever holds a password: the target is masked and the
 * reason is scrubbed of the URL's secrets.
 */
export class StorageUnavailableError extends WardenError {
  /** Why, in the driver's words, e.g. `database "x" does not exist` or `connect ECONNREFUSED 127.0.0.1:5433`. */
  readonly reason: string;
  /** The database, as `sqlite:<path>` or the PostgreSQL URL with its credentials masked; undefined when not known. */
  readonly target: string | undefined;

  constructor(message: string, cause: unknown, url?: string) {
    super('storage_unavailable', message, { cause });
    this.name = 'StorageUnavailableError';
    this.reason = databaseFailureReason(cause, url);
    // A SQLite path is shown as written: parsing it as a URL would percent-encode it.
    this.target = url === undefined ? undefined : url.startsWith('sqlite:') ? url : maskUrlCredentials(url);
  }
}

/**
 * The driver's reason for a failure, one line: the messages of an AggregateError (Node's
 * happy-eyeballs connect tries every address) joined, the error code when a message is empty,
 * and never a secret of `url` (when given), even if a driver were to quote it.
 */
export function databaseFailureReason(error: unknown, url?: string): string {
  const messages = new Set<string>();
  const collect = (value: unknown, depth: number): void => {
    if (!(value instanceof Error) || depth > 3) return;
    if (value instanceof AggregateError && value.errors.length > 0) {
      for (const inner of value.errors) collect(inner, depth + 1);
      return;
    }
    const code = (value as NodeJS.ErrnoException).code;
    const text =
      value.message.trim() !== '' ? value.message.trim() : typeof code === 'string' ? code : value.name;
    messages.add(text);
    // pg-pool wraps the real failure as the cause of "Connection terminated due to connection timeout".
    if (value.cause !== undefined && depth < 3 && /timeout/i.test(text)) collect(value.cause, depth + 1);
  };
  collect(error, 0);
  const reason = messages.size === 0 ? 'unknown error' : [...messages].join('; ');
  const line = reason.replace(/\s*\n\s*/g, ' ');
  return url === undefined ? line : scrubUrlSecrets(line, url);
}

/** Node socket errors that mean the connection to the database is gone, not that a statement was wrong. */
const CONNECTION_ERROR_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);
/** SQLite result codes of a database that cannot be used right now, whatever the statement. */
const SQLITE_OUTAGE_CODES = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|READONLY|CANTOPEN|CORRUPT|NOTADB)/;

/**
 * Whether an error says the database cannot be used (unreachable, shutting down, out of disk,
 * locked), as opposed to refusing one statement's data: a batch job stops on the first, and
 * reports the second against the item and goes on.
 */
export function isDatabaseOutage(error: unknown): boolean {
  if (error instanceof StorageUnavailableError) return true;
  if (error instanceof WardenError) return error.status >= 500;
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  if (typeof code === 'string') {
    // PostgreSQL: class 08 connection exceptions, 57P0x the server shutting down, 53 out of
    // resources; 57014 a statement cut off by statement_timeout and 55P03 a lock not available,
    // the server too busy to answer in time (as SQLITE_BUSY is for SQLite).
    if (/^(08|57P0|57014|55P03|53)/.test(code)) return true;
    if (CONNECTION_ERROR_CODES.has(code) || SQLITE_OUTAGE_CODES.test(code)) return true;
  }
  // pg reports a dropped connection without a code, and so a server gone silent: its own read
  // timeout on the stuck query, and the pool's on the queries waiting for a connection.
  return /Connection terminated|connection timeout|Client has encountered a connection error|Query read timeout|timeout exceeded when trying to connect/i.test(error.message);
}
