import { isCardNumber } from './luhn.js';
import { isSensitiveKey } from './sensitive-keys.js';

/**
 * The value patterns the redaction engine recognises. Every regex here must stay linear on
 * any input: each quantifier is bounded, each pattern starts behind a lookbehind that only
 * lets a match begin at a token boundary (so starts do not overlap inside one token), and no
 * quantified group contains another quantifier over an overlapping class. The adversarial
 * tests in test/redact/adversarial.test.ts feed 100k-character near-misses to each of them.
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
  'github_token',
  'stripe_key',
  'slack_token',
  'openai_key',
  'google_api_key',
  'secret_assignment',
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
}

const whole = (hint: string): string => hint;
const hasDigit = (text: string): boolean => /\d/.test(text);

/** True when `text` holds at least `min` characters equal to `code` (early exit). */
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
  /pass|secret|token|key|auth|cookie|credential|session|pin|otp|pwd|jwt|cvv|cvc|ssn|signature|pepper/i;

// One IPv4 octet, 0–255, without leading zeros beyond the value itself.
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = `(?:${OCTET}\\.){3}${OCTET}`;
const H = '[0-9A-Fa-f]{1,4}';
// Longest forms first; the trailing lookahead makes the alternation retry a longer form
// instead of stopping at a prefix such as `fe80::` of `fe80::1`.
const IPV6 = [
  `(?:${H}:){7}${H}`,
  `::(?:ffff(?::0{1,4})?:)?${IPV4}`,
  `(?:${H}:){1,6}:${H}`,
  `(?:${H}:){1,5}(?::${H}){1,2}`,
  `(?:${H}:){1,4}(?::${H}){1,3}`,
  `(?:${H}:){1,3}(?::${H}){1,4}`,
  `(?:${H}:){1,2}(?::${H}){1,5}`,
  `${H}:(?::${H}){1,6}`,
  `:(?::${H}){1,7}`,
  `(?:${H}:){1,7}:`,
].join('|');

/** The patterns, in the order they are applied (most specific first: a JWT inside a URL…). */
export const VALUE_PATTERNS: readonly ValuePattern[] = [
  {
    type: 'private_key',
    mayMatch: (t) => t.includes('PRIVATE KEY-----'),
    // A BEGIN without an END within 16 KiB (a truncated line) redacts what follows: fail closed.
    regex:
      /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----(?:[\s\S]{0,16384}?-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----|[\s\S]{0,16384})/g,
    replace: whole,
  },
  {
    type: 'url_credentials',
    mayMatch: (t) => t.includes('://') && t.includes('@'),
    // scheme://userinfo@ — the user part alone (`https://token@host`) is a credential too.
    regex: /(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]{0,30}:\/\/)[^\s/?#@"'<>]{1,512}@/g,
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
    type: 'bearer_token',
    mayMatch: (t) => /bearer|token /i.test(t),
    regex: /(?<![A-Za-z0-9])(Bearer|Token)(\s{1,8})[A-Za-z0-9._~+/=-]{6,8192}/gi,
    replace: (hint, _m, g) => `${g[0] ?? ''}${g[1] ?? ' '}${hint}`,
  },
  {
    type: 'basic_auth',
    mayMatch: (t) => /basic /i.test(t),
    regex: /(?<![A-Za-z0-9])(Basic)(\s{1,8})[A-Za-z0-9+/]{6,8192}={0,2}/gi,
    replace: (hint, _m, g) => `${g[0] ?? ''}${g[1] ?? ' '}${hint}`,
  },
  {
    type: 'secret_assignment',
    mayMatch: (t) => (t.includes('=') || t.includes(':')) && SENSITIVE_KEY_HINT.test(t),
    // `password=hunter2`, `"client_secret": "x"`, `api-key: x` in plain-text lines. The key is
    // checked with the same rule as object keys, so text and structured logs agree.
    regex:
      /(?<![A-Za-z0-9_.-])([A-Za-z][A-Za-z0-9_.-]{0,63})("?[ \t]{0,3}[=:][ \t]{0,3}"?)([^\s"',;&}\]]{1,4096})/g,
    replace: (hint, match, g) => {
      const key = g[0] ?? '';
      const value = g[2] ?? '';
      if (!isSensitiveKey(key) || value.startsWith('[REDACTED')) return match;
      // A URL scheme (`token://`) or `Bearer` word is handled by its own pattern.
      if (value.startsWith('//') || /^(?:bearer|basic|token)$/i.test(value)) return match;
      return `${key}${g[1] ?? '='}${hint}`;
    },
  },
  {
    type: 'email',
    mayMatch: (t) => t.includes('@'),
    regex:
      /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,63}(?![A-Za-z0-9-])/g,
    replace: whole,
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
    // Compressed forms contain '::'; the full form has seven colons.
    mayMatch: (t) => t.includes('::') || hasAtLeast(t, 58, 7),
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
