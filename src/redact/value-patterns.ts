import { isCardNumber } from './luhn.js';
import {
  AWS_SECRET_KEY_CANDIDATE,
  hasAwsSecretKeyRun,
  looksLikeAwsSecretKey,
  mayHoldProseSecret,
  mayHoldUrlEncodedAssignment,
  mayHoldXmlElement,
  PROSE_SECRET,
  redactProseSecrets,
  redactUrlEncodedAssignments,
  redactXmlElements,
  URL_ENCODED_ASSIGNMENT,
  XML_OPEN_TAG,
} from './secret-shapes.js';
import { isSensitiveKey } from './sensitive-keys.js';

/**
 * The value patterns the redaction engine recognises. Every regex here must stay linear on
 * any input: each quantifier is bounded, each pattern starts behind a lookbehind that only
 * lets a match begin at a token boundary (so starts do not overlap inside one token), and no
 * quantified group contains another quantifier over an overlapping class. The adversarial
 * tests in test/redact/adversarial.test.ts feed 100k-character near-misses to each of them.
 * The shapes that need more than a key and a separator (URL-encoded and XML assignments,
 * prose, unlabeled AWS secret keys) are in secret-shapes.ts, under the same rules.
 */
export const PATTERN_TYPES = [
  'private_key',
  'url_credentials',
  'jwt',
  'bearer_token',
  'basic_auth',
  'warden_api_key',
  'warden_token',
  'aws_access_key',
  'aws_secret_key',
  'github_token',
  'stripe_key',
  'slack_token',
  'openai_key',
  'google_api_key',
  'secret_flag',
  'secret_urlencoded',
  'secret_xml',
  'secret_assignment',
  'secret_prose',
  'email',
  'credit_card',
  'ipv6',
  'ipv4',
] as const;

/** The type hint in a replacement, e.g. `[REDACTED:email]`. */
export type PatternType = (typeof PATTERN_TYPES)[number];

export interface ValuePattern {
  readonly type: PatternType;
  /** Cheap test: the pattern cannot match a string for which this returns false. */
  readonly mayMatch: (text: string) => boolean;
  /** Global regex; `g` is required because it is used with `String.replace`. */
  readonly regex: RegExp;
  /** Builds the replacement of one match; returning the match unchanged keeps it. */
  readonly replace: (hint: string, match: string, groups: readonly (string | undefined)[]) => string;
  /** When set, used instead of `regex` + `replace` (for values a regex cannot delimit: quotes, brackets). */
  readonly apply?: (text: string, hint: string, allowValues: ReadonlySet<string>) => string;
}

const whole = (hint: string): string => hint;

// A match must not start inside a run of local-part characters (it would leave the start of a
// long local part in clear): the lookbehind refuses such starts at once. Right where an address
// ends, though, an address glued to it by local-part characters (`a@x.com%2Cb@y.org`,
// `a@x.com+b@y.org`) is one of its own: after each match one sticky attempt looks for it there,
// so the scan stays one pass with one extra attempt per address.
const EMAIL_BODY = '[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\\.){1,8}[A-Za-z]{2,63}(?![A-Za-z0-9-])';
const EMAIL = new RegExp(`(?<![A-Za-z0-9._%+-])${EMAIL_BODY}`, 'g');
const EMAIL_GLUED = new RegExp(EMAIL_BODY, 'y');

/** Every e-mail address replaced by `hint` (except allowed values), one pass. */
function redactEmails(text: string, hint: string, allowValues: ReadonlySet<string>): string {
  const scan = new RegExp(EMAIL);
  let out = '';
  let copied = 0;
  for (let match = scan.exec(text); match !== null; match = scan.exec(text)) {
    let start = match.index;
    let address = match[0];
    for (;;) {
      out += text.slice(copied, start) + (allowValues.has(address) ? address : hint);
      copied = start + address.length;
      EMAIL_GLUED.lastIndex = copied;
      const glued = EMAIL_GLUED.exec(text);
      if (glued === null) break;
      start = copied;
      address = glued[0];
    }
    scan.lastIndex = copied;
  }
  return copied === 0 ? text : out + text.slice(copied);
}
const hasDigit = (text: string): boolean => /\d/.test(text);

/** True when `text` holds at least `min` characters equal to `code` (early exit). */
/**
 * Whether a value after `Bearer`/`Token` is an English word rather than a credential: letters
 * only, fewer than 20, and no lower-case letter followed by an upper-case one. A random token of
 * that shape is rare (20 base62 characters without a digit: 3%), and one that short is weak anyway.
 */
function isPlainWord(value: string): boolean {
  return value.length < 20 && /^[A-Za-z]+$/.test(value) && !/[a-z][A-Z]/.test(value);
}

function hasAtLeast(text: string, code: number, min: number): boolean {
  let count = 0;
  for (let i = 0; i < text.length; i += 1) {
    if (text.charCodeAt(i) === code && ++count >= min) return true;
  }
  return false;
}

/** True when `text` holds at least `min` ASCII digits (early exit). */
function hasDigits(text: string, min: number): boolean {
  let count = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57 && ++count >= min) return true;
  }
  return false;
}

// Any key the secret_assignment rule could accept contains one of these (see sensitive-keys.ts).
const SENSITIVE_KEY_HINT =
  /pass|secret|token|key|auth|cookie|credential|session|pin|otp|pw|jwt|cvv|cvc|ssn|signature|pepper/i;

// Several pre-checks ask for the hint on the same string in a row (one log line through every
// pattern); the last answer is remembered so that a line pays for the hint regex once.
let hintText: string | undefined;
let hintAnswer = false;
function hasSensitiveKeyHint(text: string): boolean {
  if (text !== hintText) {
    hintText = text;
    hintAnswer = SENSITIVE_KEY_HINT.test(text);
  }
  return hintAnswer;
}

// One IPv4 octet, 0–255, without leading zeros beyond the value itself.
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = `(?:${OCTET}\\.){3}${OCTET}`;
const H = '[0-9A-Fa-f]{1,4}';
// Longest forms first; the trailing lookahead makes the alternation retry a longer form
// instead of stopping at a prefix such as `fe80::` of `fe80::1`.
const IPV6 = [
  `(?:${H}:){7}${H}`,
  `::(?:ffff(?::0{1,4})?:)?${IPV4}`,
  // An IPv4 tail after other groups: NAT64 (`64:ff9b::192.0.2.33`), `2001:db8::1.2.3.4`.
  `(?:${H}:){6}${IPV4}`,
  `(?:${H}:){1,5}:(?:${H}:){0,4}${IPV4}`,
  `::(?:${H}:){1,5}${IPV4}`,
  `(?:${H}:){1,6}:${H}`,
  `(?:${H}:){1,5}(?::${H}){1,2}`,
  `(?:${H}:){1,4}(?::${H}){1,3}`,
  `(?:${H}:){1,3}(?::${H}){1,4}`,
  `(?:${H}:){1,2}(?::${H}){1,5}`,
  `${H}:(?::${H}){1,6}`,
  `:(?::${H}){1,7}`,
  `(?:${H}:){1,7}:`,
].join('|');

// A key and its separator (`key=`, `"key": `, `\"key\":`, Python's `'key': `, `user[password]=`); the
// value that follows is delimited by `assignmentValueEnd`. Bounded per start (64 + 8 characters),
// and starts only at a token boundary.
// The separator is `=`, `:`, Ruby/PHP/Perl's `=>` or Go's `:=`, with up to 32 blanks either
// side (aligned YAML and tables); longer blank runs after it are skipped by hand (`valueStartAfter`).
const ASSIGNMENT =
  /(?<![A-Za-z0-9_.-])([A-Za-z][A-Za-z0-9_.-]{0,63})((?:\\?["']|\])?[ \t]{0,32}(?:=>|:=|[=:])[ \t]{0,32})/g;
const MAX_ASSIGNED_VALUE = 4096;

// A command-line flag and what separates it from its value: `--password=`, `--password `,
// `-token ` (Go style), and in an argv array `"--password", "`. Starts only at a token boundary
// (so at the first '-'); bounded per start like ASSIGNMENT.
const FLAG =
  /(?<![A-Za-z0-9_.-])(-{1,2}[A-Za-z][A-Za-z0-9_.-]{0,63})(=|\\?["'][ \t]{0,3},[ \t]{0,3}|(?:\\?["'])?[ \t]{1,3})/g;

// A MySQL or MariaDB client word (`mysql`, `mysqldump`, `mariadb-dump`, `/usr/bin/mysql`), after
// which a glued `-p<password>` on the same line is a password (`-p` alone prompts for one).
const MYSQL_COMMAND = /(?<![A-Za-z0-9_-])(?:mysql|mariadb)[a-z_-]{0,16}(?![A-Za-z0-9_])/gi;
const GLUED_MYSQL_PASSWORD = /(?<![A-Za-z0-9_.-])-p('[^'\n]{0,4096}'?|"[^"\n]{0,4096}"?|[^\s'"]\S{0,4095})/g;

/** Length of a Python string prefix before a quote at `start` (`b'…'`, `r"…"`, `rb'…'`), else 0. */
function stringPrefixLength(text: string, start: number): number {
  const isPrefix = (c: string | undefined): boolean => c !== undefined && 'bBrRuU'.includes(c);
  const isQuote = (c: string | undefined): boolean => c === '"' || c === "'";
  if (!isPrefix(text[start])) return 0;
  if (isQuote(text[start + 1])) return 1;
  return isPrefix(text[start + 1]) && isQuote(text[start + 2]) ? 2 : 0;
}

/** Whether an unquoted value ends at this character (whitespace or `"',;&}]`). */
function endsUnquoted(code: number): boolean {
  return (
    code <= 32 ||
    code === 34 ||
    code === 39 ||
    code === 44 ||
    code === 59 ||
    code === 38 ||
    code === 125 ||
    code === 93
  );
}

/**
 * Where the value starting at `start` ends: a quoted value (`"…"`, `'…'`, `\"…\"`, `\'…\'`, and
 * Python's `b'…'`) at its closing quote (a backslash escapes the next character), a JSON object
 * or array at its matching bracket, anything else at whitespace or `"',;&}]`. An unclosed quote
 * or bracket runs to the bound (fail closed).
 */
function assignmentValueEnd(text: string, start: number): number {
  const limit = Math.min(text.length, start + MAX_ASSIGNED_VALUE);
  const at = start + stringPrefixLength(text, start);
  const first = text[at];
  const escapedQuote = first === '\\' && (text[at + 1] === '"' || text[at + 1] === "'");
  if (first === '"' || first === "'" || escapedQuote) {
    const quote = escapedQuote ? (text[at + 1] as string) : first;
    let i = at + (escapedQuote ? 2 : 1);
    for (; i < limit; i += 1) {
      const c = text[i];
      if (c === '\n') return i;
      if (escapedQuote) {
        if (c === '\\' && text[i + 1] === quote) return i + 2;
      } else if (c === '\\') i += 1;
      else if (c === quote) return i + 1;
    }
    return i;
  }
  if (first === '{' || first === '[') {
    let depth = 0;
    let inString = false;
    for (let i = start; i < limit; i += 1) {
      const c = text[i];
      if (inString) {
        if (c === '\\') i += 1;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth += 1;
      else if ((c === '}' || c === ']') && --depth === 0) return i + 1;
    }
    return limit;
  }
  let i = start;
  while (i < limit && !endsUnquoted(text.charCodeAt(i))) i += 1;
  return i;
}

/** Where a value starts: after any blanks the separator's bounded run left (at most MAX_ASSIGNED_VALUE more). */
function valueStartAfter(text: string, start: number): number {
  const limit = Math.min(text.length, start + MAX_ASSIGNED_VALUE);
  let i = start;
  while (i < limit && (text[i] === ' ' || text[i] === '\t')) i += 1;
  return i < limit && text[i] !== '\n' && text[i] !== '\r' ? i : start;
}

/** Whether `redactedAssignedValue` keeps the value at `start` whatever follows its first characters (a URL scheme, a redaction). */
function keptByItsStart(text: string, start: number): boolean {
  let at = start + stringPrefixLength(text, start);
  if (text[at] === '\\' && (text[at + 1] === '"' || text[at + 1] === "'")) at += 2;
  else if (text[at] === '"' || text[at] === "'") at += 1;
  return text.startsWith('//', at) || text.startsWith('[REDACTED', at);
}

/** The replacement of a value assigned to a sensitive key, or undefined to keep it. */
function redactedAssignedValue(value: string, hint: string): string | undefined {
  const prefix = value.slice(0, stringPrefixLength(value, 0));
  const quoted = value.slice(prefix.length);
  const open =
    quoted.startsWith('\\"') || quoted.startsWith("\\'")
      ? quoted.slice(0, 2)
      : quoted.startsWith('"') || quoted.startsWith("'")
        ? (quoted[0] as string)
        : '';
  if (open === '' && (value.startsWith('{') || value.startsWith('[')))
    return value.startsWith('[REDACTED') ? undefined : hint;
  let inner = quoted.slice(open.length);
  let close = '';
  if (open !== '' && inner.endsWith(open) && inner.length >= open.length) {
    close = open;
    inner = inner.slice(0, inner.length - open.length);
  }
  if (inner === '' || inner.startsWith('[REDACTED')) return undefined;
  // A URL scheme (`token://`) or the `Bearer` word (its credential already redacted) is handled by its own pattern.
  if (inner.startsWith('//') || /^(?:bearer|basic|token)(?:$|\s+\[REDACTED)/i.test(inner)) return undefined;
  return `${prefix}${open}${hint}${close}`;
}

// Header names whose value is one credential however many words it has: `<scheme> <credentials>`
// (ApiKey, Negotiate, Digest with its parameters) or a cookie list. Written as text
// (`Authorization: ApiKey x`) the value runs to the end of the line, not to the first blank.
const WHOLE_LINE_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxyauthorization', 'cookie', 'setcookie']);
const SCHEMED_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxyauthorization']);

/** The header a key names (`Proxy-Authorization` → `proxyauthorization`). */
function headerName(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}

/** Whether the value at `start` is quoted or bracketed (delimited by its own syntax). */
function startsDelimited(text: string, start: number): boolean {
  const at = start + stringPrefixLength(text, start);
  const first = text[at];
  const escapedQuote = first === '\\' && (text[at + 1] === '"' || text[at + 1] === "'");
  return first === '"' || first === "'" || first === '{' || first === '[' || escapedQuote;
}

/**
 * Where a header's value written as text ends: at the end of the line, or, when the header
 * stands inside a quoted string (`-H "Authorization: ApiKey x" https://…`), at that string's
 * closing quote (an escaped one does not close it). Bounded like every assigned value.
 */
function headerValueEnd(text: string, start: number, enclosingQuote: string | undefined): number {
  const limit = Math.min(text.length, start + MAX_ASSIGNED_VALUE);
  let i = start;
  for (; i < limit; i += 1) {
    const c = text[i];
    if (c === '\n' || c === '\r') return i;
    if (c === '\\') i += 1;
    else if (c === enclosingQuote) return i;
  }
  return i;
}

/**
 * The replacement of a header's whole value (to the end of the line), or undefined to keep it:
 * an Authorization header keeps its scheme word (`ApiKey [REDACTED:…]`); a value that is only
 * a scheme and a redaction already is kept, and so is an empty one.
 */
function redactedHeaderValue(value: string, hint: string, schemed: boolean): string | undefined {
  const body = value.trimEnd();
  const trailing = value.slice(body.length);
  // Already redacted by its own pattern (`Bearer [REDACTED:bearer_token]`), a closing quote or
  // bracket of the surrounding text after it at most.
  if (body === '' || /^(?:[A-Za-z][\w.~+-]{0,31}[ \t]+)?\[REDACTED:[a-z_]+\][\s"'`,;)}\]]*$/.test(body)) return undefined;
  const scheme = schemed ? /^[A-Za-z][\w.~+-]{0,31}(?=[ \t]+\S)/.exec(body)?.[0] : undefined;
  return `${scheme === undefined ? '' : `${scheme} `}${hint}${trailing}`;
}

/**
 * Redacts the values that follow sensitive keys found by `keys` (ASSIGNMENT or FLAG: group 1 the
 * key, group 2 the separator). A kept value (a harmless key) is scanned again from its start,
 * so `msg="login password=x"` still finds `password`; the key regexes are bounded, so this
 * stays linear. `skip` keeps a value without looking at it (a flag followed by the next flag);
 * `wideGap` lets any run of blanks follow the separator (assignments: aligned YAML and tables;
 * not flags, where a wide gap is help text: `--password      Set the password`).
 */
function redactKeyedValues(
  keys: RegExp,
  text: string,
  hint: string,
  allowValues: ReadonlySet<string>,
  options: { readonly wideGap: boolean; readonly skip?: (separator: string, valueStart: number) => boolean },
): string {
  const { wideGap, skip } = options;
  let out = '';
  let copied = 0;
  keys.lastIndex = 0;
  for (let match = keys.exec(text); match !== null; match = keys.exec(text)) {
    const key = match[1] as string;
    const matchEnd = match.index + match[0].length;
    const valueStart = wideGap ? valueStartAfter(text, matchEnd) : matchEnd;
    if (!isSensitiveKey(key) || skip?.(match[2] as string, valueStart) === true) continue;
    const header = headerName(key);
    const wholeLine = (match[2] as string).includes(':') && WHOLE_LINE_HEADERS.has(header) && !startsDelimited(text, valueStart);
    // A value kept by its first characters is kept without delimiting it first: the scan resumes
    // inside it anyway, so delimiting each of `pw=//pw=//…` would cost up to 4096 characters a key.
    if (!wholeLine && keptByItsStart(text, valueStart)) continue;
    const before = text[match.index - 1];
    const valueEnd = wholeLine ? headerValueEnd(text, valueStart, before === '"' || before === "'" ? before : undefined) : assignmentValueEnd(text, valueStart);
    const value = text.slice(valueStart, valueEnd);
    const replacement = allowValues.has(text.slice(match.index, valueEnd))
      ? undefined
      : wholeLine
        ? redactedHeaderValue(value, hint, SCHEMED_HEADERS.has(header))
        : redactedAssignedValue(value, hint);
    if (replacement === undefined) continue;
    out += text.slice(copied, valueStart) + replacement;
    copied = valueEnd;
    keys.lastIndex = valueEnd;
  }
  keys.lastIndex = 0;
  return copied === 0 ? text : out + text.slice(copied);
}

function redactAssignments(text: string, hint: string, allowValues: ReadonlySet<string>): string {
  return redactKeyedValues(ASSIGNMENT, text, hint, allowValues, { wideGap: true });
}

/**
 * Redacts the value of a command-line flag named by a sensitive key: `--password x`,
 * `--password=x`, `-token x`, `"--api-key", "x"` in an argv array. After a space, a value
 * starting with '-' is the next flag (`--password --user bob`: the password is prompted for).
 */
function redactFlags(text: string, hint: string, allowValues: ReadonlySet<string>): string {
  return redactKeyedValues(FLAG, text, hint, allowValues, {
    wideGap: false,
    skip: (separator, valueStart) => separator !== '=' && !separator.includes(',') && text[valueStart] === '-',
  });
}

/**
 * Redacts a password glued to `-p` (`-pX4`, `-p'x y'`) on a line that runs a MySQL or MariaDB
 * client, after the client's name. Elsewhere `-p` means a port, a parent directory or a pid.
 * Each line is scanned once (the search for the next client word resumes at its end).
 */
function redactMysqlPasswords(text: string, hint: string, allowValues: ReadonlySet<string>): string {
  let out = '';
  let copied = 0;
  MYSQL_COMMAND.lastIndex = 0;
  for (let match = MYSQL_COMMAND.exec(text); match !== null; match = MYSQL_COMMAND.exec(text)) {
    const from = match.index + match[0].length;
    const newline = text.indexOf('\n', from);
    const lineEnd = newline === -1 ? text.length : newline;
    const line = text.slice(from, lineEnd);
    const redacted = line.replace(GLUED_MYSQL_PASSWORD, (glued: string, value: string) => {
      if (allowValues.has(glued) || value.startsWith('[REDACTED') || /^(['"])\[REDACTED/.test(value)) return glued;
      const quote = value[0] === "'" || value[0] === '"' ? value[0] : '';
      const closed = quote !== '' && value.length > 1 && value.endsWith(quote);
      return `-p${quote}${hint}${closed ? quote : ''}`;
    });
    if (redacted !== line) {
      out += text.slice(copied, from) + redacted;
      copied = lineEnd;
    }
    MYSQL_COMMAND.lastIndex = lineEnd;
  }
  MYSQL_COMMAND.lastIndex = 0;
  return copied === 0 ? text : out + text.slice(copied);
}

const MYSQL_HINT = /mysql|mariadb/i;

/** The patterns, in the order they are applied (most specific first: a JWT inside a URL…). */
export const VALUE_PATTERNS: readonly ValuePattern[] = [
  {
    type: 'private_key',
    // PEM (`PRIVATE KEY-----`) and armored PGP (`PGP PRIVATE KEY BLOCK-----`).
    mayMatch: (t) => t.includes('PRIVATE KEY-----') || t.includes('PRIVATE KEY BLOCK-----'),
    // A BEGIN without an END within 16 KiB (a truncated line) redacts what follows: fail closed.
    regex:
      /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]{0,16384}?-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|[\s\S]{0,16384})/g,
    replace: whole,
  },
  {
    type: 'url_credentials',
    mayMatch: (t) => t.includes('://') && t.includes('@'),
    // scheme://userinfo@ — the user part alone (`https://token@host`) is a credential too.
    // Greedy up to the last '@' before the path: parsers take the host after the last '@', so an
    // unencoded '@' in a password (`user:p@ss@host`) is still part of the credential. Else, a
    // `user:` form whose password holds an unencoded '/', '?' or '#' (any base64 secret pasted
    // raw): up to the next '@', unless what follows the ':' is a port (1–5 digits, then the path).
    regex:
      /(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]{0,30}:\/\/)(?:[^\s/?#"'<>]{1,512}@|[^\s/?#"'<>:@]{0,128}:(?![0-9]{1,5}[/?#])[^\s"'<>@]{1,512}@)/g,
    replace: (hint, _m, g) => `${g[0] ?? ''}${hint}@`,
  },
  {
    type: 'jwt',
    mayMatch: (t) => t.includes('eyJ'),
    regex:
      /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,8192}\.[A-Za-z0-9_-]{2,16384}\.[A-Za-z0-9_-]{0,8192}(?:\.[A-Za-z0-9_-]{0,16384}\.[A-Za-z0-9_-]{0,8192})?/g,
    replace: whole,
  },
  {
    type: 'warden_api_key',
    mayMatch: (t) => t.includes('wdn_'),
    regex: /(?<![A-Za-z0-9_])wdn_[A-Za-z0-9_-]{8,512}/g,
    replace: whole,
  },
  {
    // Refresh tokens (wrt_) and OAuth client secrets (wcs_): prefixed so that they are found here.
    type: 'warden_token',
    mayMatch: (t) => t.includes('wrt_') || t.includes('wcs_'),
    regex: /(?<![A-Za-z0-9_])(?:wrt|wcs)_[A-Za-z0-9_-]{20,128}/g,
    replace: whole,
  },
  {
    type: 'aws_access_key',
    mayMatch: (t) => /A[KSBCGIRPN][A-Z]{2}/.test(t),
    regex:
      /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}(?![A-Za-z0-9])/g,
    replace: whole,
  },
  {
    type: 'github_token',
    mayMatch: (t) => t.includes('gh') || t.includes('github_pat_'),
    regex:
      /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})(?![A-Za-z0-9_])/g,
    replace: whole,
  },
  {
    type: 'stripe_key',
    mayMatch: (t) => t.includes('_live_') || t.includes('_test_') || t.includes('whsec_'),
    regex:
      /(?<![A-Za-z0-9_])(?:(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{10,247}|whsec_[A-Za-z0-9]{16,247})(?![A-Za-z0-9_])/g,
    replace: whole,
  },
  {
    type: 'slack_token',
    mayMatch: (t) => t.includes('xox') || t.includes('hooks.slack.com'),
    regex:
      /(?<![A-Za-z0-9_-])xox[abposre]-[A-Za-z0-9-]{10,250}|https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/_-]{8,200}/g,
    replace: whole,
  },
  {
    type: 'openai_key',
    mayMatch: (t) => t.includes('sk-'),
    regex: /(?<![A-Za-z0-9_-])sk-(?:proj-|ant-|svcacct-)?[A-Za-z0-9_-]{20,255}(?![A-Za-z0-9_-])/g,
    replace: whole,
  },
  {
    type: 'google_api_key',
    mayMatch: (t) => t.includes('AIza'),
    regex: /(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])/g,
    replace: whole,
  },
  {
    type: 'aws_secret_key',
    // An unlabeled secret access key (a labeled one is also caught by its key name). Only
    // strings that look random are taken: see `looksLikeAwsSecretKey` for the rule.
    mayMatch: hasAwsSecretKeyRun,
    regex: AWS_SECRET_KEY_CANDIDATE,
    replace: (hint, match) => (looksLikeAwsSecretKey(match) ? hint : match),
  },
  {
    type: 'bearer_token',
    mayMatch: (t) => /bearer|token /i.test(t),
    regex: /(?<![A-Za-z0-9])(Bearer|Token)(\s{1,8})([A-Za-z0-9._~+/=-]{6,8192})/gi,
    // A plain word is prose (`The token denylist is unavailable`, `bearer tokens`), not a credential.
    replace: (hint, match, g) => (isPlainWord(g[2] ?? '') ? match : `${g[0] ?? ''}${g[1] ?? ' '}${hint}`),
  },
  {
    type: 'basic_auth',
    mayMatch: (t) => /basic /i.test(t),
    regex: /(?<![A-Za-z0-9])(Basic)(\s{1,8})[A-Za-z0-9+/]{6,8192}={0,2}/gi,
    replace: (hint, _m, g) => `${g[0] ?? ''}${g[1] ?? ' '}${hint}`,
  },
  {
    type: 'secret_flag',
    // `--password x`, `--password=x`, `-token x`, `["--api-key", "x"]`, and `mysql … -pX` (glued).
    mayMatch: (t) => t.includes('-') && (hasSensitiveKeyHint(t) || (t.includes('-p') && MYSQL_HINT.test(t))),
    regex: FLAG,
    replace: (_hint, match) => match,
    apply: (text, hint, allowValues) => {
      const flagged = hasSensitiveKeyHint(text) ? redactFlags(text, hint, allowValues) : text;
      return flagged.includes('-p') && MYSQL_HINT.test(flagged)
        ? redactMysqlPasswords(flagged, hint, allowValues)
        : flagged;
    },
  },
  {
    type: 'secret_urlencoded',
    // `%3Fpassword%3Dx`, `%22token%22%3A%22x%22`: a logged URL inside a URL, a form body.
    mayMatch: (t) => mayHoldUrlEncodedAssignment(t) && hasSensitiveKeyHint(t),
    regex: URL_ENCODED_ASSIGNMENT,
    replace: (_hint, match) => match,
    apply: redactUrlEncodedAssignments,
  },
  {
    type: 'secret_xml',
    // `<password>x</password>`, `<Password type="t">x</Password>`, `<wsse:Password>…`.
    mayMatch: (t) => mayHoldXmlElement(t) && hasSensitiveKeyHint(t),
    regex: XML_OPEN_TAG,
    replace: (_hint, match) => match,
    apply: redactXmlElements,
  },
  {
    type: 'secret_assignment',
    mayMatch: (t) => (t.includes('=') || t.includes(':')) && hasSensitiveKeyHint(t),
    // `password=hunter2`, `"client_secret": "x y"`, `password='x'`, `\"token\":\"x\"`, `api-key: x` in
    // plain text. The regex finds a key and its separator; the value is delimited by hand.
    regex: ASSIGNMENT,
    replace: (_hint, match) => match,
    apply: redactAssignments,
  },
  {
    type: 'secret_prose',
    // `login with password Sup3rSecretPw2`: only a word that looks like a secret (see
    // `looksLikeSecretWord`), so that `password reset failed for bob` keeps its words.
    mayMatch: (t) => hasSensitiveKeyHint(t) && mayHoldProseSecret(t),
    regex: PROSE_SECRET,
    replace: (_hint, match) => match,
    apply: redactProseSecrets,
  },
  {
    type: 'email',
    mayMatch: (t) => t.includes('@'),
    regex: EMAIL,
    replace: whole,
    apply: redactEmails,
  },
  {
    type: 'credit_card',
    mayMatch: (t) => hasDigits(t, 13),
    // 13–19 digits, optionally grouped by single spaces or dashes; Luhn and issuer checked below.
    regex: /(?<![0-9A-Za-z_.-])\d(?:[ -]?\d){12,18}(?![0-9A-Za-z_]|\.\d)/g,
    replace: (hint, match) => (isCardNumber(match.replace(/[ -]/g, '')) ? hint : match),
  },
  {
    type: 'ipv6',
    // Compressed forms contain '::'; the full form has seven colons, six before an IPv4 tail.
    mayMatch: (t) => t.includes('::') || hasAtLeast(t, 58, 6),
    regex: new RegExp(`(?<![0-9A-Za-z_:.])(?:${IPV6})(?![0-9A-Za-z_:.])`, 'g'),
    replace: whole,
  },
  {
    type: 'ipv4',
    mayMatch: (t) => hasAtLeast(t, 46, 3) && hasDigit(t),
    // Not after a letter or dot (`v1.2.3.4`, `a.1.2.3.4`), not followed by `.digit` (`1.2.3.4.5`).
    regex: new RegExp(`(?<![0-9A-Za-z_.])${IPV4}(?!\\.?[0-9])(?![A-Za-z_])`, 'g'),
    replace: whole,
  },
];
