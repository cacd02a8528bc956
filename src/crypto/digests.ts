import { createHash, createHmac, hkdfSync } from 'node:crypto';
import { constantTimeEqual } from './constant-time.js';

type Data = string | Uint8Array;
type Encoding = 'hex' | 'base64url';

/** SHA-256 of the input (strings as UTF-8), as a Buffer. */
export function sha256(data: Data): Buffer {
  return createHash('sha256').update(data).digest();
}

/** SHA-256 of the input, hex or base64url encoded. */
export function sha256Text(data: Data, encoding: Encoding = 'hex'): string {
  return sha256(data).toString(encoding);
}

/** HMAC of the input with the key (SHA-256 unless told otherwise). */
export function hmac(key: Data, data: Data, options: { algorithm?: 'sha256' | 'sha384' | 'sha512' } = {}): Buffer {
  return createHmac(options.algorithm ?? 'sha256', key).update(data).digest();
}

/** Checks an HMAC-SHA256 tag in constant time. */
export function verifyHmac(key: Data, data: Data, tag: Data): boolean {
  return constantTimeEqual(hmac(key, data), tag);
}

/** HKDF (RFC 5869) with SHA-256: `length` bytes from input keying material, salt and info. */
export function hkdf(ikm: Data, options: { salt?: Data; info?: Data; length?: number } = {}): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, options.salt ?? Buffer.alloc(0), options.info ?? Buffer.alloc(0), options.length ?? 32));
}
