/**
 * Picks the error-level lines out of a log: pino JSON lines (numeric level >= 50) and other
 * JSON loggers (`level`/`severity` "error", "fatal"…), and plain-text lines with a level word
 * (`ERROR`, `[error]`, `level=error`, Python tracebacks). Indented lines directly after a kept
 * line (stack frames) are kept with it. Every regex here is anchored or bounded.
 */

const TEXT_LEVEL_WORD = /\b(?:ERROR|ERR|FATAL|CRITICAL|CRIT|SEVERE|PANIC|EMERG|EMERGENCY|ALERT)\b/;
const TEXT_LEVEL_FIELD =
  /\b(?:level|lvl|severity|loglevel)[ \t]{0,3}[=:][ \t]{0,3}["']?(?:error|err|fatal|critical|crit|panic|emerg|alert)\b/i;
const TEXT_LEVEL_BRACKET = /[[<(](?:error|err|fatal|critical|crit|panic|emerg|alert|e)[\]>)]/i;
const TRACEBACK =
  /^Traceback \(most recent call last\)|^(?:Uncaught |Unhandled )?[A-Z][A-Za-z]{0,60}(?:Error|Exception):/;
const CONTINUATION = /^(?:\s{2,}|\tat |\s+at |\s*Caused by:|\s*\.\.\. \d{1,6} more)/;

const ERROR_LEVEL_NAMES = new Set([
  'error',
  'err',
  'fatal',
  'critical',
  'crit',
  'panic',
  'emerg',
  'emergency',
  'alert',
  'severe',
]);

/**
 * The level at the start of a JSON line that is no longer JSON: the recent-error ring cuts lines
 * at 8 KiB, and the longest error lines (deep stacks) are the ones cut. pino writes `level` first.
 */
const CUT_JSON_LEVEL = /^\{\s{0,3}"(?:level|severity|lvl|loglevel)"\s{0,3}:\s{0,3}(?:(\d{1,3})\b|"([A-Za-z]{1,12})")/;

/** True when one log line (JSON or text) is at error level or above. */
export function isErrorLine(line: string): boolean {
  const trimmed = line.trim();
  if (trimmed.startsWith('{') && trimmed.endsWith('}')) {
    const level = jsonLevel(trimmed);
    if (level !== undefined) return level;
  }
  const cut = CUT_JSON_LEVEL.exec(trimmed);
  if (cut !== null) return cut[1] !== undefined ? Number(cut[1]) >= 50 : ERROR_LEVEL_NAMES.has((cut[2] ?? '').toLowerCase());
  return (
    TEXT_LEVEL_WORD.test(trimmed) ||
    TEXT_LEVEL_FIELD.test(trimmed) ||
    TEXT_LEVEL_BRACKET.test(trimmed) ||
    TRACEBACK.test(trimmed)
  );
}

// undefined = not a JSON object with a recognisable level (judge it as text instead).
function jsonLevel(text: string): boolean | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const record = parsed as Record<string, unknown>;
  const level = record.level ?? record.severity ?? record.lvl ?? record.loglevel;
  if (typeof level === 'number') return level >= 50;
  if (typeof level === 'string') return ERROR_LEVEL_NAMES.has(level.toLowerCase());
  return undefined;
}

/** The error-level lines of `lines` (with their stack-frame continuations), newest `maxLines` kept. */
export function filterErrorLines(lines: readonly string[], options: { maxLines: number }): string[] {
  const kept: string[] = [];
  let keepingContinuation = false;
  for (const raw of lines) {
    for (const line of raw.split(/\r?\n/)) {
      if (line.trim() === '') {
        keepingContinuation = false;
        continue;
      }
      if (keepingContinuation && CONTINUATION.test(line)) {
        kept.push(line);
        continue;
      }
      keepingContinuation = isErrorLine(line);
      if (keepingContinuation) kept.push(line);
    }
  }
  return kept.length > options.maxLines ? kept.slice(kept.length - options.maxLines) : kept;
}
