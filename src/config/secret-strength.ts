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

/** True when the value is a well-known placeholder (or contains an obvious placeholder marker). */
export function isKnownDefaultSecret(value: string): boolean {
  const lowered = value.trim().toLowerCase();
  if (KNOWN_DEFAULTS.has(lowered)) return true;
  return /change[-_ ]?me|changeit|replace[-_ ]?me|your[-_ ]?secret|example|insecure|placeholder|x{8,}/.test(lowered);
}

/**
 * Why a secret's estimate came out lower than its length and alphabet suggest. Messages name
 * these, never the value itself.
 */
export type SecretWeakness = 'repeats' | 'sequences' | 'few-symbols';

/** The entropy estimate of a secret and the structures that lowered it. */
export interface SecretStrength {
  /** Conservative entropy estimate, in bytes. */
  readonly bytes: number;
  /** What made the value weaker than a random string of the same length (empty when nothing did). */
  readonly weaknesses: readonly SecretWeakness[];
}

/**
 * A conservative estimate of the entropy in a secret string, in bytes. Encoded random bytes
 * (hex, base64, base64url) count as their decoded length; the estimate is capped by the
 * string's empirical Shannon entropy (`aaaa…`, `abababab…`) and by how briefly its structure
 * can be described (repeated blocks, alphabet or keyboard runs), see assessSecretStrength.
 */
export function estimateEntropyBytes(value: string): number {
  return assessSecretStrength(value).bytes;
}

/** Estimates a secret's entropy like estimateEntropyBytes and says what lowered it. */
export function assessSecretStrength(value: string): SecretStrength {
  const trimmed = value.trim();
  if (trimmed === '') return { bytes: 0, weaknesses: [] };
  let encodedBytes: number;
  if (/^[0-9a-fA-F]+$/.test(trimmed) && trimmed.length % 2 === 0) encodedBytes = trimmed.length / 2;
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) encodedBytes = Math.floor((trimmed.replace(/=+$/, '').length * 6) / 8);
  else encodedBytes = Buffer.byteLength(trimmed, 'utf8');

  let bytes = encodedBytes;
  const weaknesses: SecretWeakness[] = [];

  const counts = new Map<string, number>();
  for (const ch of trimmed) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bitsPerChar = 0;
  for (const count of counts.values()) {
    const p = count / trimmed.length;
    bitsPerChar -= p * Math.log2(p);
  }
  // A random string over an alphabet scores close to log2(min(length, alphabet size)) bits per
  // character. Well below that, the value is patterned (`aaaa…`, `abcabc…`, words) and only
  // its empirical entropy counts. The measured entropy of a short string runs low (a random
  // 32-character hex string scores ~0.3 bits per character under 4), which refused about one
  // random 16-byte hex token in 10,000; the comparison adds that bias back (Miller–Madow).
  const alphabet = /^[0-9a-fA-F]+$/.test(trimmed) ? 16 : /^[A-Za-z0-9+/_=-]+$/.test(trimmed) ? 64 : 94;
  const expected = Math.log2(Math.min(trimmed.length, alphabet));
  const unbiased = bitsPerChar + (counts.size - 1) / (2 * trimmed.length * Math.LN2);
  if (unbiased < 0.75 * expected) {
    const shannonBytes = Math.floor((bitsPerChar * trimmed.length) / 8);
    if (shannonBytes < bytes) {
      bytes = shannonBytes;
      weaknesses.push('few-symbols');
    }
  }

  // Shannon entropy ignores order, so `0123456789abcdef` repeated, or the base64 alphabet
  // written out, score like random keys. A description-length estimate sees their structure.
  const chars = Array.from(trimmed);
  const structure = describeStructure(chars, (encodedBytes * 8) / chars.length);
  if (structure !== undefined) {
    const structuredBytes = Math.floor(structure.bits / 8);
    if (structuredBytes < bytes) bytes = structuredBytes;
    for (const weakness of structure.weaknesses) if (!weaknesses.includes(weakness)) weaknesses.push(weakness);
  }
  return { bytes, weaknesses };
}

/** One reason per weakness, for refusal messages (which must never quote the value). */
export function describeSecretWeaknesses(weaknesses: readonly SecretWeakness[]): string {
  if (weaknesses.length === 0) return 'it is too short';
  const reasons: Record<SecretWeakness, string> = {
    repeats: 'it repeats parts of itself',
    sequences: 'it contains runs of consecutive characters in alphabet, digit or keyboard order',
    'few-symbols': 'it uses few distinct characters',
  };
  return weaknesses.map((w) => reasons[w]).join('; ');
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

/** Segment type (literal block, run or copy): 2 bits. */
const TYPE_BITS = 2;

/**
 * Structure is only believed when it saves at least this many bits over writing the value
 * out: a random key sits exactly at its decoded length (32 hex-encoded bytes are 32 bytes),
 * so any saving found by chance would refuse it. A description scheme compresses a uniformly
 * random string by k bits with probability at most about 2^-k (measured on 100,000 random
 * keys per encoding: no saving above 5 bits), while patterned values save hundreds of bits.
 * The price: structure worth less than 4 bytes is ignored.
 */
const STRUCTURE_MARGIN_BITS = 32;

/** Longest prefix analysed: the search is quadratic, and no key needs more characters. */
const MAX_ANALYSED_CHARS = 4096;

/**
 * The shortest description of `chars` (in bits) as a sequence of segments: a literal block
 * (`literalBits` per character), a run along one of ORDERINGS or consecutive character codes
 * (`abcd`, `9876`, `qwerty`), or a copy of earlier text (which, overlapping itself, also
 * covers `aaaa…` and periodic values). Undefined when it does not beat writing the value out
 * by STRUCTURE_MARGIN_BITS, i.e. when the value shows no believable structure.
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
  const how = new Array<'literal' | 'run' | 'copy'>(n + 1).fill('literal');
  const next = new Int32Array(n + 1);
  let bestLiteralTail = Infinity;
  let bestLiteralEnd = n;
  for (let i = n - 1; i >= 0; i--) {
    const tail = (i + 1) * literalBits + (best[i + 1] ?? 0);
    if (tail < bestLiteralTail) [bestLiteralTail, bestLiteralEnd] = [tail, i + 1];
    let cost = TYPE_BITS + lengthBits + bestLiteralTail - i * literalBits;
    let kind: 'literal' | 'run' | 'copy' = 'literal';
    let end = bestLiteralEnd;
    const runHead = TYPE_BITS + lengthBits + ORDERING_BITS + literalBits;
    for (let len = 3; len <= (runs[i] ?? 0); len++) {
      const c = runHead + (best[i + len] ?? 0);
      if (c < cost) [cost, kind, end] = [c, 'run', i + len];
    }
    const copyHead = TYPE_BITS + lengthBits + Math.log2(Math.max(1, i));
    for (let len = 2; len <= (longestCopy[i] ?? 0); len++) {
      const c = copyHead + (best[i + len] ?? 0);
      if (c < cost) [cost, kind, end] = [c, 'copy', i + len];
    }
    best[i] = cost;
    how[i] = kind;
    next[i] = end;
  }
  const bits = best[0] ?? 0;
  if (rawBits - bits < STRUCTURE_MARGIN_BITS) return undefined;
  const weaknesses: SecretWeakness[] = [];
  for (let i = 0; i < n; i = next[i] ?? n) {
    if (how[i] === 'copy' && !weaknesses.includes('repeats')) weaknesses.push('repeats');
    if (how[i] === 'run' && !weaknesses.includes('sequences')) weaknesses.push('sequences');
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
