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
  // Empirical entropy underestimates short random strings; a 64-char hex key scores ~3.8
  // bits/char (~30 bytes). Give credit up to the alphabet's nominal density.
  const nominalBitsPerChar = /^[0-9a-fA-F]+$/.test(trimmed) ? 4 : bitsPerChar < 3 ? bitsPerChar : 6;
  const shannonBytes = (Math.min(bitsPerChar * 1.25, nominalBitsPerChar) * trimmed.length) / 8;
  return Math.floor(Math.min(encodedBytes, shannonBytes));
}

/** The minimum entropy Warden accepts for its root secret, in bytes. */
export const MIN_SECRET_BYTES = 32;
