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
