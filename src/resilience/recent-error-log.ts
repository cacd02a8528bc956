/**
 * A bounded in-memory ring of the service's most recent error-level log lines, so log triage can
 * work without access to the log files. Lines arrive already redacted by the logger; the
 * buffer keeps at most `capacity` lines of at most `maxLineLength` characters each.
 */
export interface RecentErrorLog {
  /** Adds one serialized log line (newest last). */
  push(line: string): void;
  /** The buffered lines, oldest first. */
  lines(): string[];
  clear(): void;
}

export interface RecentErrorLogOptions {
  /** Lines kept. @default 200 */
  readonly capacity?: number;
  /** Longer lines are cut (a stack trace can be huge). @default 8192 */
  readonly maxLineLength?: number;
}

/** Creates an empty ring buffer. */
export function createRecentErrorLog(options: RecentErrorLogOptions = {}): RecentErrorLog {
  const capacity = options.capacity ?? 200;
  const maxLineLength = options.maxLineLength ?? 8192;
  if (!Number.isInteger(capacity) || capacity <= 0)
    throw new TypeError('capacity must be a positive integer');
  const ring: string[] = [];
  let next = 0;
  return {
    push(line) {
      const trimmed = line.trimEnd();
      const bounded = trimmed.length > maxLineLength ? trimmed.slice(0, maxLineLength) : trimmed;
      if (ring.length < capacity) ring.push(bounded);
      else ring[next] = bounded;
      next = (next + 1) % capacity;
    },
    lines() {
      if (ring.length < capacity) return [...ring];
      return [...ring.slice(next), ...ring.slice(0, next)];
    },
    clear() {
      ring.length = 0;
      next = 0;
    },
  };
}

/** True for a pino JSON line at error (50) or fatal (60) level, judged from its serialized prefix. */
export function isPinoErrorLine(line: string): boolean {
  return line.startsWith('{"level":50') || line.startsWith('{"level":60');
}
