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
 * A conservative estimate of the entropy in a secret string, in bytes. Encoded random bytes
 * (hex, base64, base64url) count as their decoded length; the estimate is further capped by
 * the string's empirical Shannon entropy so that `aaaa…` or `abababab…` never passes.
 */
export function estimateEntropyBytes(value: string): number {
  const trimmed = value.trim();
  if (trimmed === '') return 0;
  let encodedBytes: number;
  if (/^[0-9a-fA-F]+$/.test(trimmed) && trimmed.length % 2 === 0) encodedBytes = trimmed.length / 2;
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) encodedBytes = Math.floor((trimmed.replace(/=+$/, '').length * 6) / 8);
  else encodedBytes = Buffer.byteLength(trimmed, 'utf8');

  const counts = new Map<string, number>();
  for (const ch of trimmed) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bitsPerChar = 0;
  for (const count of counts.values()) {
    const p = count / trimmed.length;
    bitsPerChar -= p * Math.log2(p);
  }
  // A random string over an alphabet scores close to log2(min(length, alphabet size)) bits per
  // character. Well below that, the value is patterned (`aaaa…`, `abcabc…`, words) and only
  // its empirical entropy counts.
  const alphabet = /^[0-9a-fA-F]+$/.test(trimmed) ? 16 : /^[A-Za-z0-9+/_=-]+$/.test(trimmed) ? 64 : 94;
  const expected = Math.log2(Math.min(trimmed.length, alphabet));
  if (bitsPerChar >= 0.75 * expected) return encodedBytes;
  const shannonBytes = (bitsPerChar * trimmed.length) / 8;
  return Math.floor(Math.min(encodedBytes, shannonBytes));
}

/** The minimum entropy Warden accepts for its root secret, in bytes. */
export const MIN_SECRET_BYTES = 32;
