import { COMMON_WORDS } from './secret-words.js';

/**
 * Values that appear in examples, tutorials and .env templates. A secret equal to one of
 * them (case-insensitive) is refused in production no matter its length.
 */
const KNOWN_DEFAULTS = new Set(
  [
    'changeme',
    'change-me',
    'change_me',
    'changeit',
    'secret',
    'secret-key',
    'secretkey',
    'supersecret',
    'super-secret',
    'your-secret-key',
    'your_secret_key',
    'yoursecretkey',
    'mysecret',
    'password',
    'development',
    'dev',
    'test',
    'example',
    'default',
    'insecure',
    'warden',
    'warden-secret',
    'replace-me',
    'replace-with-a-long-random-string',
    'change-me-to-a-long-random-string-of-at-least-32-bytes',
    'django-insecure',
    'your-256-bit-secret',
    'please-change-this-secret-key-in-production',
    'change_this_secret_key_in_production',
  ].map((s) => s.toLowerCase()),
);

/** True when the value, or the text it decodes to, is a well-known placeholder (or contains an obvious placeholder marker). */
export function isKnownDefaultSecret(value: string): boolean {
  const trimmed = value.trim();
  const decoded = decodeEncoding(trimmed);
  const text = decoded === undefined ? undefined : readableText(decoded.bytes);
  return [trimmed, ...(text === undefined ? [] : [text.trim()])].some((candidate) => {
    const lowered = candidate.toLowerCase();
    if (KNOWN_DEFAULTS.has(lowered)) return true;
    return /change[-_ ]?me|changeit|replace[-_ ]?me|your[-_ ]?secret|example|insecure|placeholder|x{8,}/.test(lowered);
  });
}

/**
 * Why a secret's estimate came out lower than its length and alphabet suggest. Messages name
 * these, never the value itself.
 */
export type SecretWeakness = 'repeats' | 'sequences' | 'few-symbols' | 'few-kinds' | 'words' | 'years' | 'encoded-text';

/** The entropy estimate of a secret and the structures that lowered it. */
export interface SecretStrength {
  /** Conservative entropy estimate, in bytes. */
  readonly bytes: number;
  /** What made the value weaker than a random string of the same length (empty when nothing did). */
  readonly weaknesses: readonly SecretWeakness[];
}

/**
 * A conservative estimate of the entropy in a secret string, in bytes, see
 * assessSecretStrength.
 */
export function estimateEntropyBytes(value: string): number {
  return assessSecretStrength(value).bytes;
}

/**
 * Estimates a secret's entropy and says what lowered it. The estimate is the length of the
 * shortest description found for the value, in bits:
 *
 * - the ceiling: hex/base64/base64url count as their decoded bytes, anything else as
 *   log2(size of the character classes used) per character (lower 26, upper 26, digits 10,
 *   ASCII symbols and space 33, anything else 100): a random printable password needs 39
 *   characters for 32 bytes;
 * - encoded text: when the decoded bytes are readable text, that text is judged instead
 *   (its non-ASCII characters at their UTF-8 bytes);
 * - few distinct characters: the measured (Shannon) entropy;
 * - structure: the value as a sequence of literal characters, runs in alphabet or keyboard
 *   order, copies of earlier text, common words (about 2 bytes each, see secret-words.ts) and
 *   years (about 11 bits).
 *
 * A cheaper description is believed only when it saves STRUCTURE_MARGIN_BITS or more, so a
 * random key is refused by chance with odds below 1 in 2^32.
 */
export function assessSecretStrength(value: string): SecretStrength {
  const { bits, weaknesses } = estimateBits(value.trim(), 0);
  // The epsilon keeps 256.0000000001-style float results from dropping a byte.
  return { bytes: Math.max(0, Math.floor(bits / 8 + 1e-9)), weaknesses };
}

/** One reason per weakness, for refusal messages (which must never quote the value). */
export function describeSecretWeaknesses(weaknesses: readonly SecretWeakness[]): string {
  if (weaknesses.length === 0) return 'it is too short';
  const reasons: Record<SecretWeakness, string> = {
    'encoded-text': 'it is readable text in hex or base64, which is only as strong as that text',
    words: 'it contains common words, which count as about 2 bytes each',
    years: 'it contains a year',
    repeats: 'it repeats parts of itself',
    sequences: 'it contains runs of consecutive characters in alphabet, digit or keyboard order (or of bytes in value order)',
    'few-symbols': 'it uses few distinct characters',
    'few-kinds': 'it uses only some kinds of characters (of lower case, upper case, digits, symbols)',
  };
  return weaknesses.map((w) => reasons[w]).join('; ');
}

interface Estimate {
  readonly bits: number;
  readonly weaknesses: SecretWeakness[];
}

/** Encodings nest (base64 of a hex key is common), but no key needs more than this. */
const MAX_DECODING_DEPTH = 2;

function estimateBits(value: string, depth: number): Estimate {
  if (value === '') return { bits: 0, weaknesses: [] };
  const chars = Array.from(value);
  const decoded = decodeEncoding(value);
  const classBits = depth === 0 ? chars.length * Math.log2(alphabetSize(chars)) : decodedTextBits(chars);
  const weaknesses: SecretWeakness[] = [];
  let ceiling = classBits;
  if (decoded !== undefined) {
    // A value that parses as an encoding may still be text (`thisismykey` is valid base64).
    // Its character classes say so only when they save the structure margin: random keys
    // often miss a class by chance (one 16-byte base64url token in 100 is letters only), and
    // that alone would cost them up to 2 bytes.
    ceiling = decoded.bytes.length * 8;
    if (classBits <= ceiling - STRUCTURE_MARGIN_BITS) {
      ceiling = classBits;
      weaknesses.push('few-kinds');
    }
  }
  let bits = ceiling;
  // The cheapest believed description sets the estimate, and every one adds its reasons, so a
  // refusal names all the structure found.
  const lowerTo = (candidate: number, reasons: readonly SecretWeakness[]): void => {
    if (candidate >= ceiling) return;
    bits = Math.min(bits, candidate);
    for (const reason of reasons) if (!weaknesses.includes(reason)) weaknesses.push(reason);
  };

  const counts = new Map<string, number>();
  for (const ch of chars) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bitsPerChar = 0;
  for (const count of counts.values()) {
    const p = count / chars.length;
    bitsPerChar -= p * Math.log2(p);
  }
  // Few distinct characters (`aaaa…`, `abcabc…`) are judged by their measured (Shannon)
  // entropy, but believed only when a real code for "these symbol counts, in this order"
  // saves the structure margin. The measured entropy alone runs low on short strings (a
  // random 32-character hex string scores ~0.35 bits per character under 4), and a fixed
  // threshold on it refused about one random 16-byte hex token in 100,000.
  if (symbolCountCodeBits(value, counts, chars.length) <= ceiling - STRUCTURE_MARGIN_BITS) {
    lowerTo(bitsPerChar * chars.length, ['few-symbols']);
  }

  // Shannon entropy ignores order, so `0123456789abcdef` repeated, the base64 alphabet written
  // out, or a sentence of common words score like random keys. A description-length estimate
  // sees their structure.
  const structure = describeStructure(chars, ceiling / chars.length);
  if (structure !== undefined) lowerTo(structure.bits, structure.weaknesses);
  if (decoded !== undefined) {
    // Base64's 6-bit characters do not line up with bytes, so counting bytes (00 01 02 …, the
    // AES test-vector key) or a block written twice show no structure in the encoded text. The
    // bytes are described too, each as a symbol outside every character ordering and word.
    const bytes = Array.from(decoded.bytes.subarray(0, MAX_ANALYSED_CHARS), (byte) => String.fromCharCode(0x100 + byte));
    const byteStructure = describeStructure(bytes, 8);
    if (byteStructure !== undefined) lowerTo(byteStructure.bits, byteStructure.weaknesses);
  }

  // Base64 or hex of a sentence decodes to that sentence, which is all an attacker has to
  // guess. Random bytes decode to readable text by chance too (a 16-byte token once in about
  // 8 million), so the text is believed only when it is cheaper by the structure margin.
  if (decoded !== undefined && depth < MAX_DECODING_DEPTH) {
    const text = readableText(decoded.bytes);
    if (text !== undefined) {
      const inner = estimateBits(text.trim(), depth + 1);
      // One more bit says "this is encoded text" rather than random bytes.
      if (inner.bits + 1 <= ceiling - STRUCTURE_MARGIN_BITS) {
        lowerTo(inner.bits + 1, ['encoded-text', ...inner.weaknesses.filter((w) => w !== 'encoded-text')]);
      }
    }
  }
  return { bits, weaknesses };
}

/**
 * The class estimate for text decoded from hex or base64. Here a low estimate is the risky
 * direction (it would call random bytes "encoded text"), so a non-ASCII character costs its
 * UTF-8 bytes in full rather than one of 100 symbols: random bytes decode to short runs of
 * such characters often enough (one 16-byte token in 100,000 read as 11 characters).
 */
function decodedTextBits(chars: readonly string[]): number {
  const ascii = chars.filter((ch) => ch <= '\u007f');
  let bits = ascii.length === 0 ? 0 : ascii.length * Math.log2(alphabetSize(ascii));
  for (const ch of chars) if (ch > '\u007f') bits += 8 * Buffer.byteLength(ch, 'utf8');
  return bits;
}

/**
 * The length in bits of a code that names the value by how often each symbol occurs and then
 * which arrangement of those counts it is: log2 of the ways to split `length` among the
 * alphabet's symbols, plus log2 of the multinomial, plus 2 bits for which alphabet. A valid
 * code (Kraft), so a random value comes out k bits under its ceiling with odds below 2^-k.
 */
function symbolCountCodeBits(value: string, counts: ReadonlyMap<string, number>, length: number): number {
  const alphabet = /^[0-9a-f]+$|^[0-9A-F]+$/.test(value)
    ? 16
    : /^[0-9a-fA-F]+$/.test(value)
      ? 22
      : /^[A-Za-z0-9+/_=-]+$/.test(value)
        ? 67
        : /^[\x20-\x7e]+$/.test(value)
          ? 95
          : UNICODE_CODE_POINTS;
  // C(length + alphabet - 1, length) * length! / prod(count!), as a sum over `length` terms
  // (the alphabet may be all of Unicode).
  let bits = 2;
  for (let i = 1; i <= length; i++) bits += Math.log2(alphabet - 1 + i);
  for (const count of counts.values()) for (let i = 2; i <= count; i++) bits -= Math.log2(i);
  return bits;
}

const UNICODE_CODE_POINTS = 0x110000;

/** The bytes a hex (even length) or base64/base64url value decodes to; undefined for other text. */
function decodeEncoding(value: string): { readonly bytes: Buffer } | undefined {
  if (value.length >= 2 && value.length % 2 === 0 && /^[0-9a-fA-F]+$/.test(value)) return { bytes: Buffer.from(value, 'hex') };
  // Node decodes both alphabets and ignores a dangling sixth-bit character, which is the
  // credit the ceiling wants: whole bytes only.
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) return { bytes: Buffer.from(value.replace(/=+$/, ''), 'base64') };
  return undefined;
}

/** The bytes as text when they are UTF-8 without control characters (tab and line breaks allowed). */
function readableText(bytes: Buffer): string | undefined {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    const control = code < 0x20 || (code >= 0x7f && code < 0xa0);
    if (control && ch !== '\t' && ch !== '\n' && ch !== '\r') return undefined;
  }
  return text;
}

/**
 * How many characters the value could have been drawn from, judged by the classes it uses (as
 * brute-force estimators such as zxcvbn do): a value of lower-case letters and digits counts
 * as drawn from 36 characters.
 */
function alphabetSize(chars: readonly string[]): number {
  let lower = 0;
  let upper = 0;
  let digit = 0;
  let symbol = 0;
  let other = 0;
  for (const ch of chars) {
    if (ch >= 'a' && ch <= 'z') lower = 26;
    else if (ch >= 'A' && ch <= 'Z') upper = 26;
    else if (ch >= '0' && ch <= '9') digit = 10;
    else if (ch >= ' ' && ch <= '~') symbol = 33;
    else other = 100;
  }
  return lower + upper + digit + symbol + other;
}

/**
 * Orders in which people type "random-looking" runs: the encodings' alphabets and keyboard
 * rows (consecutive character codes, i.e. a-z, A-Z, 0-9, are checked separately).
 */
const ORDERINGS: readonly string[] = [
  '0123456789abcdef',
  '0123456789ABCDEF',
  'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/',
  'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
  '`1234567890-=',
  '~!@#$%^&*()_+',
  'qwertyuiop[]\\',
  'QWERTYUIOP{}|',
  "asdfghjkl;'",
  'ASDFGHJKL:"',
  'zxcvbnm,./',
  'ZXCVBNM<>?',
];

/** Bits to name which ordering (plus "character codes") a run follows, and its direction. */
const ORDERING_BITS = Math.log2((ORDERINGS.length + 1) * 2);

/** Segment type (literal block, run, copy, word or year). */
const TYPE_BITS = Math.log2(5);

/**
 * Structure is only believed when it saves at least this many bits over writing the value
 * out: a random key sits exactly at its decoded length (32 hex-encoded bytes are 32 bytes),
 * so any saving found by chance would refuse it. Every segment's cost below is a code length
 * (the choices it stands for sum to at most one, Kraft), so a uniformly random string is
 * compressed by k bits with probability at most about 2^-k (measured on 100,000 random keys
 * for each of hex, base64 and base64url of 16, 32 and 48 bytes: no saving above 10 bits),
 * while patterned values save hundreds of bits. The price: structure worth less than 4 bytes
 * is ignored.
 */
const STRUCTURE_MARGIN_BITS = 32;

/** Longest prefix analysed: the search is quadratic, and no key needs more characters. */
const MAX_ANALYSED_CHARS = 4096;

/** Characters that may join a word or year to what precedes it at little cost (`-Key`, ` key`). */
const SEPARATORS = [' ', '-', '_', '.', '/'];
/** A flag (separator or not), plus which one. */
const NO_SEPARATOR_BITS = 1;
const SEPARATOR_BITS = 1 + Math.log2(SEPARATORS.length);

/** Endings that make new words from listed ones (`tokens`, `scraper`). */
const SUFFIXES = ['s', 'es', 'ed', 'er', 'ers', 'ing', 'ly', 'y'];
const NO_SUFFIX_BITS = 1;
const SUFFIX_BITS = 1 + Math.log2(SUFFIXES.length);

/** Bits to name one word of the dictionary. */
const WORD_BITS = Math.log2(COMMON_WORDS.length);

/** Years 1900-2099: 200 choices. */
const YEAR_BITS = Math.log2(200);

/** Look-alike characters of letters (`p@ssw0rd`). */
const LEET: Readonly<Record<string, readonly string[]>> = {
  '4': ['a'],
  '@': ['a'],
  '8': ['b'],
  '3': ['e'],
  '6': ['g'],
  '9': ['g'],
  '1': ['i', 'l'],
  '!': ['i'],
  '|': ['i', 'l'],
  '0': ['o'],
  '5': ['s'],
  $: ['s'],
  '7': ['t'],
  '+': ['t'],
  '2': ['z'],
};

/** For each letter, how many look-alikes it has (a: 4 and @ makes 2). */
const LEET_ALTERNATIVES: ReadonlyMap<string, number> = (() => {
  const counts = new Map<string, number>();
  for (const letters of Object.values(LEET)) for (const letter of letters) counts.set(letter, (counts.get(letter) ?? 0) + 1);
  return counts;
})();

interface TrieNode {
  readonly children: Map<string, TrieNode>;
  word: boolean;
}

const DICTIONARY: TrieNode = (() => {
  const root: TrieNode = { children: new Map(), word: false };
  for (const word of COMMON_WORDS) {
    let node = root;
    for (const letter of word) {
      let child = node.children.get(letter);
      if (child === undefined) {
        child = { children: new Map(), word: false };
        node.children.set(letter, child);
      }
      node = child;
    }
    node.word = true;
  }
  return root;
})();

/**
 * Bits for the case of a word's letters: all lower, Capitalized and ALL UPPER are the usual
 * forms (1, 2 and 3 bits); any other mix names each letter's case (3 bits + 1 per letter).
 */
function caseBits(letters: readonly string[]): number {
  const upper = letters.filter((ch) => ch >= 'A' && ch <= 'Z').length;
  if (upper === 0) return 1;
  if (upper === 1 && letters[0] !== undefined && letters[0] >= 'A' && letters[0] <= 'Z') return 2;
  if (upper === letters.length) return 3;
  return 3 + letters.length;
}

/**
 * Bits for how a word is spelt: plainly (1 bit), or with look-alikes, which names for every
 * letter that has some whether and which one was used.
 */
function spellingBits(word: string, substituted: boolean): number {
  if (!substituted) return 1;
  let bits = 1;
  for (const letter of word) {
    const alternatives = LEET_ALTERNATIVES.get(letter);
    if (alternatives !== undefined) bits += Math.log2(1 + alternatives);
  }
  return bits;
}

/** A segment of the description that covers chars[start..end) at `bits`. */
interface Match {
  readonly end: number;
  readonly bits: number;
}

/**
 * Every dictionary word (optionally after a separator, in any case, with look-alikes and a
 * suffix) that starts at `start`, with its cost.
 */
function wordMatches(chars: readonly string[], start: number): Match[] {
  const matches: Match[] = [];
  const starts: [number, number][] = [[start, NO_SEPARATOR_BITS]];
  if (SEPARATORS.includes(chars[start] ?? '')) starts.push([start + 1, SEPARATOR_BITS]);
  for (const [from, separatorBits] of starts) {
    const record = (end: number, word: string, substituted: boolean): void => {
      const base = TYPE_BITS + WORD_BITS + separatorBits + spellingBits(word, substituted);
      const withSuffixes: [number, number][] = [[end, NO_SUFFIX_BITS]];
      for (const suffix of SUFFIXES) {
        const tail = chars.slice(end, end + suffix.length).join('');
        if (tail.toLowerCase() === suffix) withSuffixes.push([end + suffix.length, SUFFIX_BITS]);
      }
      for (const [stop, suffixBits] of withSuffixes) {
        const letters = chars.slice(from, stop).filter((ch) => /^[A-Za-z]$/.test(ch));
        matches.push({ end: stop, bits: base + suffixBits + caseBits(letters) });
      }
    };
    const walk = (node: TrieNode, at: number, word: string, substituted: boolean): void => {
      const ch = chars[at];
      if (ch === undefined) return;
      const letter = /^[A-Za-z]$/.test(ch) ? [ch.toLowerCase()] : undefined;
      for (const candidate of letter ?? LEET[ch] ?? []) {
        const child = node.children.get(candidate);
        if (child === undefined) continue;
        const spelled = substituted || letter === undefined;
        if (child.word) record(at + 1, word + candidate, spelled);
        walk(child, at + 1, word + candidate, spelled);
      }
    };
    walk(DICTIONARY, from, '', false);
  }
  return matches;
}

/** A year 1900-2099 (optionally after a separator) starting at `start`. */
function yearMatch(chars: readonly string[], start: number): Match | undefined {
  const separated = SEPARATORS.includes(chars[start] ?? '');
  const from = separated ? start + 1 : start;
  if (!/^(?:19|20)\d\d$/.test(chars.slice(from, from + 4).join(''))) return undefined;
  return { end: from + 4, bits: TYPE_BITS + (separated ? SEPARATOR_BITS : NO_SEPARATOR_BITS) + YEAR_BITS };
}

type Segment = 'literal' | 'run' | 'copy' | 'word' | 'year';

const SEGMENT_WEAKNESS: Readonly<Record<Segment, SecretWeakness | undefined>> = {
  literal: undefined,
  run: 'sequences',
  copy: 'repeats',
  word: 'words',
  year: 'years',
};

/**
 * The shortest description of `chars` (in bits) as a sequence of segments: a literal block
 * (`literalBits` per character), a run along one of ORDERINGS or consecutive character codes
 * (`abcd`, `9876`, `qwerty`), a copy of earlier text (which, overlapping itself, also covers
 * `aaaa…` and periodic values), a dictionary word or a year. Undefined when it does not beat
 * writing the value out by STRUCTURE_MARGIN_BITS, i.e. when the value shows no believable
 * structure.
 */
function describeStructure(
  allChars: readonly string[],
  literalBits: number,
): { bits: number; weaknesses: SecretWeakness[] } | undefined {
  // A long value is judged by its first MAX_ANALYSED_CHARS only: ignoring the rest can only
  // lower the estimate, and a random prefix of that length still carries ample entropy.
  const chars = allChars.slice(0, MAX_ANALYSED_CHARS);
  const n = chars.length;
  const lengthBits = Math.log2(n + 1);
  const rawBits = n * literalBits;

  const runs = longestRuns(chars);
  // longestCopy[i]: the longest match of chars[i..] starting at an earlier position (the
  // copy may overlap position i, which is how periodic values become one segment).
  const longestCopy = longestEarlierMatches(chars);
  // best[i]: the cheapest description of chars[i..]; how[i] and next[i]: the segment it
  // starts with. Literal blocks cost linearly, so the best block end is tracked as
  // bestLiteralTail = min over k > i of (k * literalBits + best[k]) instead of searched.
  const best = new Float64Array(n + 1);
  const how = new Array<Segment>(n + 1).fill('literal');
  const next = new Int32Array(n + 1);
  let bestLiteralTail = Infinity;
  let bestLiteralEnd = n;
  for (let i = n - 1; i >= 0; i--) {
    const tail = (i + 1) * literalBits + (best[i + 1] ?? 0);
    if (tail < bestLiteralTail) [bestLiteralTail, bestLiteralEnd] = [tail, i + 1];
    let cost = TYPE_BITS + lengthBits + bestLiteralTail - i * literalBits;
    let kind: Segment = 'literal';
    let end = bestLiteralEnd;
    const consider = (segment: Segment, segmentBits: number, segmentEnd: number): void => {
      const c = segmentBits + (best[segmentEnd] ?? 0);
      if (c < cost) [cost, kind, end] = [c, segment, segmentEnd];
    };
    const runHead = TYPE_BITS + lengthBits + ORDERING_BITS + literalBits;
    for (let len = 3; len <= (runs[i] ?? 0); len++) consider('run', runHead, i + len);
    const copyHead = TYPE_BITS + lengthBits + Math.log2(Math.max(1, i));
    for (let len = 2; len <= (longestCopy[i] ?? 0); len++) consider('copy', copyHead, i + len);
    for (const match of wordMatches(chars, i)) consider('word', match.bits, match.end);
    const year = yearMatch(chars, i);
    if (year !== undefined) consider('year', year.bits, year.end);
    best[i] = cost;
    how[i] = kind;
    next[i] = end;
  }
  const bits = best[0] ?? 0;
  if (rawBits - bits < STRUCTURE_MARGIN_BITS) return undefined;
  const weaknesses: SecretWeakness[] = [];
  for (let i = 0; i < n; i = next[i] ?? n) {
    const weakness = SEGMENT_WEAKNESS[how[i] ?? 'literal'];
    if (weakness !== undefined && !weaknesses.includes(weakness)) weaknesses.push(weakness);
  }
  return { bits, weaknesses };
}

/** For each position, the length of the longest run starting there (1 when none). */
function longestRuns(chars: readonly string[]): Int32Array {
  const n = chars.length;
  const result = new Int32Array(n).fill(1);
  const steps: ((a: string, b: string) => number | undefined)[] = [
    (a, b) => (b.codePointAt(0) ?? 0) - (a.codePointAt(0) ?? 0),
    ...ORDERINGS.map((ordering) => (a: string, b: string) => {
      const ia = ordering.indexOf(a);
      const ib = ordering.indexOf(b);
      return ia < 0 || ib < 0 ? undefined : ib - ia;
    }),
  ];
  for (const step of steps) {
    for (const direction of [1, -1]) {
      // Scan from the end so that each position extends the run found at the next one.
      let run = 1;
      for (let i = n - 2; i >= 0; i--) {
        run = step(chars[i] ?? '', chars[i + 1] ?? '') === direction ? run + 1 : 1;
        if (run > (result[i] ?? 1)) result[i] = run;
      }
    }
  }
  return result;
}

/** For each position i, the longest common prefix of chars[i..] and any chars[j..] with j < i. */
function longestEarlierMatches(chars: readonly string[]): Int32Array {
  const n = chars.length;
  const result = new Int32Array(n);
  // lcp(i, j) = chars[i] === chars[j] ? 1 + lcp(i + 1, j + 1) : 0, one row per i from the
  // end, in two reused buffers: row i only reads entries j + 1 <= i of row i + 1, all written.
  let below = new Int32Array(n + 1);
  let row = new Int32Array(n + 1);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = i - 1; j >= 0; j--) {
      const length = chars[i] === chars[j] ? 1 + (below[j + 1] ?? 0) : 0;
      row[j] = length;
      if (length > (result[i] ?? 0)) result[i] = length;
    }
    [below, row] = [row, below];
  }
  return result;
}

/** The minimum entropy Warden accepts for its root secret, in bytes. */
export const MIN_SECRET_BYTES = 32;
