import { PATTERN_TYPES, VALUE_PATTERNS, type PatternType, type ValuePattern } from './value-patterns.js';
import { isSensitiveKey, normaliseKey, REDACTED } from './sensitive-keys.js';

export interface RedactorOptions {
  /** Key names never redacted by name (compared like sensitive keys: case and `-`/`_` ignored). @default ['token_type'] */
  readonly allowKeys?: readonly string[];
  /** Extra key names always redacted (exact match after normalisation). @default [] */
  readonly denyKeys?: readonly string[];
  /** Value patterns switched off, e.g. `['ipv4', 'ipv6']` to keep client addresses. @default [] */
  readonly disabledPatterns?: readonly PatternType[];
  /**
   * Keys whose string values are kept as they are (key-name rules still apply). The logger
   * keeps its own `ip` field this way; text sent to third parties uses no such exception.
   * @default []
   */
  readonly verbatimKeys?: readonly string[];
  /** Exact values that are never redacted by pattern (e.g. `127.0.0.1`). @default [] */
  readonly allowValues?: readonly string[];
  /** Exact substrings always redacted wherever they occur (e.g. a known internal hostname). @default [] */
  readonly denyValues?: readonly string[];
  /** Longest string scanned; the rest is replaced by `[REDACTED:truncated]` (fail closed). @default 65536 */
  readonly maxStringLength?: number;
  /** Characters scanned per `redactValue` call; strings past the budget are replaced whole. @default 1048576 */
  readonly maxCharsPerValue?: number;
  /** Object nesting followed; deeper values are replaced. @default 12 */
  readonly maxDepth?: number;
}

export interface Redactor {
  /** Deep copy of a value with sensitive keys and sensitive substrings of strings replaced. */
  redactValue(value: unknown): unknown;
  /** The text with every recognised secret or PII replaced by `[REDACTED:<type>]`. */
  redactText(text: string): string;
}

/** Placeholder for a value removed by pattern type, e.g. `[REDACTED:email]`. */
export function redactionHint(type: string): string {
  return `[REDACTED:${type}]`;
}

const TRUNCATED = redactionHint('truncated');

type KeyVerdict = 'sensitive' | 'verbatim' | 'plain';

/**
 * Every value pattern needs a digit or one of `@ : = . _ - <`, except `Bearer …`/`Basic …`/`Token …`,
 * AWS/Google key ids, which may by chance be all letters, and a secret written after the word
 * password or secret (`password SuperSecretWord`): a string matching none of these cannot match
 * any pattern.
 */
const MAY_HOLD_A_PATTERN =
  /[0-9@:=._<-]|bearer|basic|token|pass|secret|A(?:KIA|SIA|BIA|CCA|GPA|IDA|ROA|IPA|NPA|NVA|PKA|Iza)/i;

/** A command-line flag named by a sensitive key (`--password`, `-token`), written alone. */
function isSensitiveFlag(value: unknown): boolean {
  return (
    typeof value === 'string' &&
    value.length <= 66 &&
    /^-{1,2}[A-Za-z][A-Za-z0-9_.-]*$/.test(value) &&
    isSensitiveKey(value.replace(/^-{1,2}/, ''))
  );
}

/** Builds a redactor from options, validated and frozen once. */
export function createRedactor(options: RedactorOptions = {}): Redactor {
  const allowKeys = new Set((options.allowKeys ?? ['token_type']).map(normaliseKey));
  const denyKeys = new Set((options.denyKeys ?? []).map(normaliseKey));
  const disabled = new Set<string>(options.disabledPatterns ?? []);
  for (const type of disabled) {
    if (!(PATTERN_TYPES as readonly string[]).includes(type))
      throw new TypeError(`unknown redaction pattern type: ${type}`);
  }
  const verbatimKeys = new Set((options.verbatimKeys ?? []).map(normaliseKey));
  const allowValues = new Set(options.allowValues ?? []);
  const denyValues = [...(options.denyValues ?? [])]
    .filter((v) => v.length > 0)
    .sort((a, b) => b.length - a.length);
  const maxStringLength = positive(options.maxStringLength ?? 65_536, 'maxStringLength');
  const maxCharsPerValue = positive(options.maxCharsPerValue ?? 1_048_576, 'maxCharsPerValue');
  const maxDepth = positive(options.maxDepth ?? 12, 'maxDepth');
  const patterns = VALUE_PATTERNS.filter((p) => !disabled.has(p.type));

  // Per-key verdicts are remembered (log objects repeat the same keys on every line), bounded.
  // `name` is the key as written out: keys are data too (a map keyed by e-mail or by API key).
  const keyVerdicts = new Map<string, { verdict: KeyVerdict; name: string }>();
  const keyVerdict = (key: string): { verdict: KeyVerdict; name: string } => {
    const known = keyVerdicts.get(key);
    if (known !== undefined) return known;
    const normalised = normaliseKey(key);
    let verdict: KeyVerdict = 'plain';
    if (allowKeys.has(normalised)) verdict = 'plain';
    else if (denyKeys.has(normalised) || isSensitiveKey(key)) verdict = 'sensitive';
    else if (verbatimKeys.has(normalised)) verdict = 'verbatim';
    const result = { verdict, name: redactBoundedText(key) };
    if (key.length <= 128) {
      if (keyVerdicts.size >= 4096) keyVerdicts.clear();
      keyVerdicts.set(key, result);
    }
    return result;
  };

  const redactBoundedText = (text: string): string => {
    let out = text.length > maxStringLength ? keptBeforeCut(text, maxStringLength) : text;
    for (const literal of denyValues)
      if (out.includes(literal)) out = out.split(literal).join(redactionHint('denied'));
    // Most log strings (methods, messages, ids) hold none of the characters any pattern needs.
    if (MAY_HOLD_A_PATTERN.test(out)) {
      for (const pattern of patterns)
        if (pattern.mayMatch(out)) out = applyPattern(pattern, out, allowValues);
    }
    return text.length > maxStringLength ? out + TRUNCATED : out;
  };

  const redactValue = (value: unknown): unknown => {
    let budget = maxCharsPerValue;
    const visit = (inner: unknown, depth: number): unknown => {
      if (typeof inner === 'string') {
        if (budget <= 0) return redactionHint('budget');
        budget -= Math.min(inner.length, maxStringLength);
        // JSON inside a string (a logged request body) is redacted by key as well, like any object.
        const embedded =
          inner.length <= maxStringLength && depth < maxDepth ? parseEmbeddedJson(inner) : undefined;
        if (embedded !== undefined) return JSON.stringify(visit(embedded, depth + 1));
        return redactBoundedText(inner);
      }
      if (typeof inner === 'bigint')
        return isCardLikeDigits(inner.toString()) ? redactBoundedText(inner.toString()) : inner;
      if (typeof inner === 'number')
        return isSafeCardLikeNumber(inner) ? redactBoundedText(String(inner)) : inner;
      // A function is no data; kept, an own `toJSON` would be called by the serializer after
      // redaction and write whatever it returns.
      if (typeof inner === 'function') return undefined;
      if (inner === null || typeof inner !== 'object') return inner;
      if (depth >= maxDepth) return redactionHint('too_deep');
      if (inner instanceof Error) return visit(errorToObject(inner), depth);
      if (inner instanceof Date) return inner;
      if (Buffer.isBuffer(inner) || ArrayBuffer.isView(inner)) return redactionHint('binary');
      if (Array.isArray(inner)) {
        // An argv (`['--password', 'x']`): the element after a sensitive flag is its value.
        return inner.map((item, i) =>
          i > 0 && isSensitiveFlag(inner[i - 1]) && typeof item === 'string' && !item.startsWith('-')
            ? redactionHint('secret_flag')
            : visit(item, depth + 1),
        );
      }
      if (inner instanceof Map) return visit(Object.fromEntries(inner), depth);
      if (inner instanceof Set) return visit([...inner], depth);
      const out: Record<string, unknown> = {};
      // Two keys redacted to the same text (two e-mail addresses) must not overwrite each other;
      // the last suffix per key is remembered so that many such keys stay linear.
      let suffixes: Map<string, number> | undefined;
      for (const [key, field] of Object.entries(inner as Record<string, unknown>)) {
        const { verdict, name: redactedKey } = keyVerdict(key);
        budget -= Math.min(key.length, maxStringLength);
        let name = redactedKey;
        if (Object.hasOwn(out, name)) {
          suffixes ??= new Map();
          let n = suffixes.get(redactedKey) ?? 1;
          do {
            n += 1;
            name = `${redactedKey}#${n}`;
          } while (Object.hasOwn(out, name));
          suffixes.set(redactedKey, n);
        }
        const redacted =
          verdict === 'sensitive'
            ? REDACTED
            : verdict === 'verbatim' && typeof field === 'string'
              ? field
              : HEADER_LIST_KEY.test(key) && isHeaderPairList(field)
                ? // Headers as [name, value, name, value…] (Node's rawHeaders, undici): a value
                  // after a sensitive name is redacted as under that key.
                  field.map((item, i) => (i % 2 === 1 && isSensitiveKey(field[i - 1] as string) ? REDACTED : visit(item, depth + 1)))
                : visit(field, depth + 1);
        // A "__proto__" key (from JSON.parse) must stay a key, not replace the prototype; every
        // other key takes the plain (fast) assignment, as this runs for each field of each log line.
        if (name === '__proto__')
          Object.defineProperty(out, name, {
            value: redacted,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        else out[name] = redacted;
      }
      return out;
    };
    return visit(value, 0);
  };

  return Object.freeze({ redactValue, redactText: redactBoundedText });
}

function applyPattern(pattern: ValuePattern, text: string, allowValues: ReadonlySet<string>): string {
  const hint = redactionHint(pattern.type);
  if (pattern.apply !== undefined) return pattern.apply(text, hint, allowValues);
  return text.replace(pattern.regex, (match: string, ...rest: unknown[]) => {
    if (allowValues.has(match)) return match;
    // `replace` passes the capture groups, then the offset, the input and (with named groups) an object.
    const groups: (string | undefined)[] = [];
    for (const item of rest) {
      if (typeof item === 'number') break;
      groups.push(item as string | undefined);
    }
    return pattern.replace(hint, match, groups);
  });
}

// A JSON number can only be a card number with 13+ digits and an issuer digit 2–6 first
// (epoch-millisecond timestamps start with 1 and skip the text scan).
function isSafeCardLikeNumber(value: number): boolean {
  if (!Number.isSafeInteger(value) || value < 2e12) return false;
  const first = String(value).charCodeAt(0);
  return first >= 50 && first <= 54;
}

/** A BigInt's digits can be a card number (13–19 digits, issuer digit 2–6). */
function isCardLikeDigits(digits: string): boolean {
  const first = digits.charCodeAt(0);
  return digits.length >= 13 && digits.length <= 19 && first >= 50 && first <= 54;
}

/** The parsed value when a string is a JSON object or array, else undefined. */
function parseEmbeddedJson(text: string): unknown {
  const first = text.charCodeAt(0);
  // Cheap pre-check before JSON.parse: '{' or '[' … '}' or ']' (leading whitespace is rare in logs).
  if (first !== 123 && first !== 91) return undefined;
  const last = text.charCodeAt(text.length - 1);
  if (last !== 125 && last !== 93) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Errors become plain objects so their messages and stacks are redacted like any text. */
function errorToObject(error: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { type: error.name, message: error.message };
  if (error.stack !== undefined) out.stack = error.stack;
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) out.code = code;
  if (error.cause !== undefined) out.cause = error.cause;
  return out;
}

function positive(value: number, name: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new TypeError(`${name} must be a positive integer`);
  return value;
}

// How far back from a cut the last token may start: beyond that, the stretch is dropped whole.
const MAX_CUT_TOKEN = 4096;

/**
 * The part of an over-long text kept before the cut, without the token the cut splits: scanned
 * alone, its first half would lose what its pattern needs (the `@` after a URL's password, a
 * token's length) and be written out in clear. It goes under `[REDACTED:truncated]` instead.
 */
function keptBeforeCut(text: string, max: number): string {
  const floor = Math.max(0, max - MAX_CUT_TOKEN);
  for (let i = max; i > floor; i -= 1) {
    const code = text.charCodeAt(i - 1);
    // Whitespace, quotes and angle brackets end every token a pattern looks for.
    if (code <= 32 || code === 34 || code === 39 || code === 60 || code === 62) return text.slice(0, i);
  }
  return text.slice(0, floor);
}

// An HTTP header name (RFC 9110 token), as the even elements of a header-pair list are.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;

// A key under which an array of strings may be a header-pair list (`rawHeaders`, `headers`,
// `rawTrailers`): elsewhere an even list of names (`fields: ['password', 'name']`) is no such thing.
const HEADER_LIST_KEY = /(?:headers|trailers)$/i;

/** Whether a value lists headers as [name, value, name, value…]: strings, every even one a header name. */
function isHeaderPairList(items: unknown): items is readonly string[] {
  if (!Array.isArray(items) || items.length < 2 || items.length % 2 !== 0) return false;
  for (let i = 0; i < items.length; i += 1) {
    const item = items[i];
    if (typeof item !== 'string' || (i % 2 === 0 && !HEADER_NAME.test(item))) return false;
  }
  return true;
}
