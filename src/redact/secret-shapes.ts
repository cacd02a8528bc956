import { isSensitiveKey } from './sensitive-keys.js';

/**
 * Secret shapes that neither a provider prefix nor `key=value` catch: URL-encoded assignments,
 * XML elements named by a sensitive key, a secret written after the word "password" in prose,
 * and unlabeled AWS secret access keys. The same rules as in value-patterns.ts hold: every regex
 * is linear (bounded quantifiers, matches start only at a token boundary) and every hand-written
 * scan is bounded per start, so a 100k-character near-miss costs linear time.
 */

/** Longest value redacted from one key (as for `key=value`: an unclosed one runs to this bound). */
const MAX_VALUE = 4096;

/** True when `text` is exactly one redaction hint (`[REDACTED]`, `[REDACTED:jwt]`): already done. */
function isRedactionHint(text: string): boolean {
  return /^\[REDACTED(?::[a-z0-9_]{1,40})?\]$/.test(text);
}

// ---------------------------------------------------------------------------------------------
// URL-encoded assignments: `%3Fpassword%3Dx`, `%22token%22%3A%22x%22`, `user%5Bpassword%5D%3Dx`.

/** A percent escape, possibly encoded once or twice more (`%3D`, `%253D`, `%25253D`). */
const PCT = '%(?:25){0,2}';

// The key starts right after a percent escape (`%3F`, `%26`, `%22`) or at a token boundary; the
// separator is an encoded `=` or an encoded `:` (JSON: `%22key%22%3A`), an encoded `]` first
// for `user[password]=`. Bounded per start (64-character key, ≤ 3 encoded spaces around `:`).
export const URL_ENCODED_ASSIGNMENT = new RegExp(
  `(?:(?<=${PCT}[0-9a-f]{2})|(?<![a-z0-9_.%-]))([a-z][a-z0-9_.-]{0,63})` +
    `((?:${PCT}5d)?(?:${PCT}3d|(?:${PCT}22)?(?:${PCT}20|\\+){0,3}${PCT}3a(?:${PCT}20|\\+){0,3}))`,
  'gi',
);

/** Encoded characters that end an encoded value: `&` `"` `'` `,` `;` `}` `]` `#`. */
const URL_VALUE_END_ESCAPES = new Set(['26', '22', '27', '2c', '3b', '7d', '5d', '23']);

/** Characters an encoded value may hold unencoded (anything else ends it): `A-Z a-z 0-9 - . _ ~ + ! * ( ) / : @ = $`. */
function isUrlValueChar(code: number): boolean {
  return (
    (code >= 48 && code <= 57) ||
    (code >= 65 && code <= 90) ||
    (code >= 97 && code <= 122) ||
    code === 45 || // -
    code === 46 || // .
    code === 95 || // _
    code === 126 || // ~
    code === 43 || // +
    code === 33 || // !
    code === 42 || // *
    code === 40 || // (
    code === 41 || // )
    code === 47 || // /
    code === 58 || // :
    code === 64 || // @
    code === 61 || // =
    code === 36 // $
  );
}

function isHexDigit(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 70) || (code >= 97 && code <= 102);
}

/** The percent escape at `i` (`%26`, `%2526`…): its extra encoding depth, hex pair and length. */
function percentEscapeAt(
  text: string,
  i: number,
): { depth: number; hex: string; length: number } | undefined {
  if (text.charCodeAt(i) !== 37) return undefined;
  let j = i + 1;
  let depth = 0;
  // `%25` followed by two more hex digits is one more level of encoding of the next escape.
  while (
    depth < 2 &&
    text.startsWith('25', j) &&
    isHexDigit(text.charCodeAt(j + 2)) &&
    isHexDigit(text.charCodeAt(j + 3))
  ) {
    depth += 1;
    j += 2;
  }
  if (!isHexDigit(text.charCodeAt(j)) || !isHexDigit(text.charCodeAt(j + 1))) return undefined;
  return { depth, hex: text.slice(j, j + 2).toLowerCase(), length: j + 2 - i };
}

/**
 * Where the encoded value starting at `start` ends: at `&`, at an encoded `& " ' , ; } ] #` of the
 * separator's encoding depth or shallower (a `%2526` inside a once-encoded value is its own `&`),
 * or at a character a URL-encoded value cannot hold (a stray `%` is held). `open` is the length of an encoded opening
 * quote (JSON form), which is kept.
 */
function urlEncodedValue(text: string, start: number, depth: number): { open: number; end: number } {
  const limit = Math.min(text.length, start + MAX_VALUE);
  let open = 0;
  const first = percentEscapeAt(text, start);
  if (first !== undefined && first.hex === '22' && first.depth <= depth) open = first.length;
  let i = start + open;
  while (i < limit) {
    const code = text.charCodeAt(i);
    if (code === 37) {
      const escape = percentEscapeAt(text, i);
      // A stray '%' (not an escape) is part of the value: fail closed.
      if (escape === undefined) i += 1;
      else if (escape.depth <= depth && URL_VALUE_END_ESCAPES.has(escape.hex)) return { open, end: i };
      else i += escape.length;
    } else if (isUrlValueChar(code)) i += 1;
    else return { open, end: i };
  }
  return { open, end: i };
}

/** Redacts values assigned to sensitive keys inside URL-encoded text (a logged `next=` URL, a form body). */
export function redactUrlEncodedAssignments(
  text: string,
  hint: string,
  allowValues: ReadonlySet<string>,
): string {
  let out = '';
  let copied = 0;
  URL_ENCODED_ASSIGNMENT.lastIndex = 0;
  for (
    let match = URL_ENCODED_ASSIGNMENT.exec(text);
    match !== null;
    match = URL_ENCODED_ASSIGNMENT.exec(text)
  ) {
    if (!isSensitiveKey(match[1] as string)) continue;
    const separator = match[2] as string;
    const depth = (/%((?:25){0,2})3[ad]/i.exec(separator)?.[1]?.length ?? 0) / 2;
    const valueStart = match.index + match[0].length;
    const { open, end } = urlEncodedValue(text, valueStart, depth);
    if (end <= valueStart + open || allowValues.has(text.slice(match.index, end))) continue;
    out += text.slice(copied, valueStart + open) + hint;
    copied = end;
    URL_ENCODED_ASSIGNMENT.lastIndex = end;
  }
  URL_ENCODED_ASSIGNMENT.lastIndex = 0;
  return copied === 0 ? text : out + text.slice(copied);
}

/** Cheap pre-check: an encoded `=` or `:` (`%3D`, `%253a`…). */
export function mayHoldUrlEncodedAssignment(text: string): boolean {
  return text.includes('%') && /%(?:25){0,2}3[ad]/i.test(text);
}

// ---------------------------------------------------------------------------------------------
// XML elements: `<password>x</password>`, `<Password type="t">x</Password>`, `<wsse:Password>`.

// An opening tag: optional namespace prefix, the local name (checked by sensitive-keys.ts), then
// attributes up to 1024 characters. Starts only at '<', and `[^<>]` stops at the next '<'.
export const XML_OPEN_TAG =
  /<((?:[A-Za-z_][A-Za-z0-9_.-]{0,31}:)?([A-Za-z_][A-Za-z0-9_.-]{0,63}))((?:[ \t\r\n][^<>]{0,1024})?)>/g;

// A closing tag, listed once per text by `closingTagFinder` (bounded like XML_OPEN_TAG).
const XML_CLOSE_TAG =
  /<\/((?:[A-Za-z_][A-Za-z0-9_.-]{0,31}:)?[A-Za-z_][A-Za-z0-9_.-]{0,63})[ \t\r\n]{0,16}>/g;

/**
 * Finds the closing tag of an element for a scan whose starts only move forward: the closing
 * tags of the text are listed once (lazily) by lower-cased name, and each name keeps a cursor
 * that only moves forward, so the whole scan is linear whatever the mix of tags.
 */
function closingTagFinder(text: string): (from: number, name: string) => number {
  let byName: Map<string, { positions: number[]; cursor: number }> | undefined;
  return (from, name) => {
    if (byName === undefined) {
      const index = new Map<string, { positions: number[]; cursor: number }>();
      XML_CLOSE_TAG.lastIndex = 0;
      for (let tag = XML_CLOSE_TAG.exec(text); tag !== null; tag = XML_CLOSE_TAG.exec(text)) {
        const key = (tag[1] as string).toLowerCase();
        const entry = index.get(key);
        if (entry === undefined) index.set(key, { positions: [tag.index], cursor: 0 });
        else entry.positions.push(tag.index);
      }
      XML_CLOSE_TAG.lastIndex = 0;
      byName = index;
    }
    const entry = byName.get(name.toLowerCase());
    if (entry === undefined) return -1;
    while (entry.cursor < entry.positions.length && (entry.positions[entry.cursor] as number) < from)
      entry.cursor += 1;
    const at = entry.positions[entry.cursor];
    return at !== undefined && at < from + MAX_VALUE ? at : -1;
  };
}

/**
 * Whether unclosed element content may start with this character: a letter, a digit, `+ _ -`.
 * Not '/': `<WARDEN_SECRETS_DIR>/NAME` is a placeholder in a path.
 */
function mayStartUnclosedContent(code: number): boolean {
  return (
    (code >= 48 && code <= 57) ||
    (code >= 65 && code <= 90) ||
    (code >= 97 && code <= 122) ||
    code === 43 ||
    code === 95 ||
    code === 45
  );
}

/**
 * Redacts the content of elements named by a sensitive key, up to the matching closing tag (text,
 * CDATA or child elements alike: an element is redacted whole, as a JSON object under a sensitive
 * key is). Without a closing tag within 4096 characters (a cut line), the text up to the next
 * `<`, `"` or line break is redacted if it starts with a letter, a digit or `+ _ -`, so that
 * `usage: <token> is required`, `Promise<Token>'` and `<SECRETS_DIR>/name` are kept.
 */
export function redactXmlElements(text: string, hint: string, allowValues: ReadonlySet<string>): string {
  let out = '';
  let copied = 0;
  const closingTag = closingTagFinder(text);
  XML_OPEN_TAG.lastIndex = 0;
  for (let match = XML_OPEN_TAG.exec(text); match !== null; match = XML_OPEN_TAG.exec(text)) {
    const attributes = match[3] as string;
    if (attributes.trimEnd().endsWith('/') || !isSensitiveKey(match[2] as string)) continue;
    const contentStart = match.index + match[0].length;
    let contentEnd = closingTag(contentStart, match[1] as string);
    if (contentEnd === -1) {
      if (!mayStartUnclosedContent(text.charCodeAt(contentStart))) continue;
      const limit = Math.min(text.length, contentStart + MAX_VALUE);
      contentEnd = contentStart;
      while (contentEnd < limit && !'<"\n\r'.includes(text[contentEnd] as string)) contentEnd += 1;
    }
    const content = text.slice(contentStart, contentEnd);
    if (content.trim() === '' || isRedactionHint(content.trim()) || allowValues.has(content)) continue;
    out += text.slice(copied, contentStart) + hint;
    copied = contentEnd;
    XML_OPEN_TAG.lastIndex = contentEnd;
  }
  XML_OPEN_TAG.lastIndex = 0;
  return copied === 0 ? text : out + text.slice(copied);
}

/** Cheap pre-check: a tag could open here. */
export function mayHoldXmlElement(text: string): boolean {
  return text.includes('<') && text.includes('>');
}

// ---------------------------------------------------------------------------------------------
// Prose: `login with password Sup3rSecretPw2`, `the secret is 9f8e7d6c5b4a`.

// One of the words, an optional "is"/"was", then one token (up to whitespace, a quote or a
// bracket). Starts only at the word; the token is bounded and must end there (lookahead).
export const PROSE_SECRET =
  /(?<![A-Za-z0-9])(?:password|passwd|passphrase|secret|token)(?:[ \t]{1,3}(?:is|was))?[ \t]{1,3}([^\s"'`<>()[\]{},;]{8,4096})(?![^\s"'`<>()[\]{},;])/gi;

/**
 * Whether the word after "password" is a secret rather than English: at least 8 characters
 * (sentence punctuation at its end aside) with a digit, or a lower-case letter followed by an
 * upper-case one (`hunter2Secret`, but not `Changed` or `reset`).
 */
export function looksLikeSecretWord(word: string): boolean {
  const value = word.replace(/[.!?:]+$/, '');
  return value.length >= 8 && (/\d/.test(value) || /[a-z][A-Z]/.test(value));
}

/** Redacts a secret-looking word written after password/passwd/passphrase/secret/token in prose. */
export function redactProseSecrets(text: string, hint: string, allowValues: ReadonlySet<string>): string {
  let out = '';
  let copied = 0;
  PROSE_SECRET.lastIndex = 0;
  for (let match = PROSE_SECRET.exec(text); match !== null; match = PROSE_SECRET.exec(text)) {
    const token = match[1] as string;
    const valueStart = match.index + match[0].length - token.length;
    const value = token.replace(/[.!?:]+$/, '');
    if (!looksLikeSecretWord(token) || allowValues.has(value)) {
      // `password password Sup3r…`: the kept word may itself be the next key word.
      PROSE_SECRET.lastIndex = valueStart;
      continue;
    }
    out += text.slice(copied, valueStart) + hint;
    copied = valueStart + value.length;
  }
  PROSE_SECRET.lastIndex = 0;
  return copied === 0 ? text : out + text.slice(copied);
}

/** Cheap pre-check: one of the key words. */
export function mayHoldProseSecret(text: string): boolean {
  return /passw|passphrase|secret|token/i.test(text);
}

// ---------------------------------------------------------------------------------------------
// Unlabeled AWS secret access keys: 40 characters of [A-Za-z0-9/+] standing alone.

/**
 * A standalone 40-character token of the AWS secret-key alphabet: not inside a longer base64,
 * base64url, hex, dotted or e-mail token (`.` may end a sentence after it; `=` or `:` may
 * precede it, as the value of a harmless key such as `key=`), and not the last line of a PEM
 * body (a certificate's line before `-----END …`). Which ones are keys is
 * decided by `looksLikeAwsSecretKey`.
 */
export const AWS_SECRET_KEY_CANDIDATE =
  /(?<![A-Za-z0-9/+_.%@\\-])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=_%@\\-]|\.[A-Za-z0-9]|\r?\n-----END )/g;

/**
 * Whether a 40-character candidate is random enough to be a secret key. A key is 30 random bytes
 * in base64, so it mixes upper case, lower case and digits and repeats few characters. Rejected:
 * anything without all three classes (git SHAs, upper-case hex, words), fewer than 24 distinct
 * characters (paths, identifiers and hex-like strings have ~22; 0.13 % of random keys do),
 * English-like runs (lower-case runs of 4+ letters totalling 14+ characters: camelCase
 * identifiers; 0.85 % of keys), and absolute paths (begins with `/` and holds another `/`;
 * 0.7 % of keys). About 98 % of random keys are redacted; the rest rely on key names.
 */
export function looksLikeAwsSecretKey(candidate: string): boolean {
  if (candidate.length !== 40) return false;
  if (!/[A-Z]/.test(candidate) || !/[a-z]/.test(candidate) || !/\d/.test(candidate)) return false;
  if (candidate.startsWith('/') && candidate.includes('/', 1)) return false;
  if (new Set(candidate).size < 24) return false;
  let wordy = 0;
  for (const run of candidate.match(/[a-z]{4,40}/g) ?? []) wordy += run.length;
  return wordy < 14;
}

/** Cheap pre-check: a run of at least 40 characters of [A-Za-z0-9/+] (one pass, early exit). */
export function hasAwsSecretKeyRun(text: string): boolean {
  let run = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    const inAlphabet =
      (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 43 || c === 47;
    if (!inAlphabet) run = 0;
    else if (++run >= 40) return true;
  }
  return false;
}
