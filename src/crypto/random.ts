import { randomBytes, randomUUID } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A random token of `bytes` bytes of entropy, hex-encoded (2 characters per byte). */
export function randomHex(bytes = 32): string {
  assertBytes(bytes);
  return randomBytes(bytes).toString('hex');
}

/** A random token of `bytes` bytes of entropy, base64url without padding. */
export function randomBase64Url(bytes = 32): string {
  assertBytes(bytes);
  return randomBytes(bytes).toString('base64url');
}

/**
 * A random base62 string of exactly `length` characters (≈5.95 bits each), unbiased:
 * bytes ≥ 248 are rejected instead of reduced modulo 62.
 */
export function randomBase62(length = 43): string {
  if (!Number.isInteger(length) || length < 1 || length > 4096) throw new TypeError('length must be an integer in [1, 4096]');
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(Math.ceil((length - out.length) * 1.1) + 4)) {
      if (byte >= 248) continue;
      out += BASE62[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

/** A random RFC 4122 version-4 UUID. */
export function uuidV4(): string {
  return randomUUID();
}

function assertBytes(bytes: number): void {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 4096) throw new TypeError('bytes must be an integer in [1, 4096]');
}
