import { hkdfSync } from 'node:crypto';

/**
 * Derives an independent key for one purpose from the root secret (HKDF-SHA256), so that a
 * key used for API-key hashing can never be confused with one used for tokens or indexes.
 * `purpose` is a fixed, versioned label such as 'apikey-pepper:v1'.
 */
export function deriveKey(rootSecret: string | Uint8Array, purpose: string, length = 32): Buffer {
  if (purpose === '') throw new TypeError('deriveKey needs a purpose label');
  return Buffer.from(hkdfSync('sha256', rootSecret, 'warden', purpose, length));
}
