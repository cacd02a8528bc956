import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { DecryptionError } from './decryption-error.js';

/**
 * Fernet (https://github.com/fernet/spec), byte-compatible with Python's `cryptography`:
 *   token = base64url( 0x80 | timestamp (u64 BE, seconds) | IV (16) | AES-128-CBC(PKCS7) | HMAC-SHA256 (32) )
 * The key is 32 bytes in base64url: the first half signs, the second half encrypts.
 */
const VERSION = 0x80;
const HEADER_BYTES = 1 + 8 + 16;
const MAC_BYTES = 32;
/** Python's cryptography accepts tokens stamped at most 60 s in the future. */
export const FERNET_MAX_CLOCK_SKEW_SEC = 60;

export interface FernetOptions {
  /** Clock in epoch milliseconds. @default Date.now */
  readonly now?: () => number;
  /** Tolerated future timestamps, in seconds. @default 60 */
  readonly maxClockSkewSec?: number;
}

export interface FernetDecryptOptions {
  /** Reject tokens older than this many seconds; undefined = no age limit. */
  readonly ttlSec?: number;
}

/** A random Fernet key (32 bytes, base64url with padding, like Python's `Fernet.generate_key()`). */
export function generateFernetKey(): string {
  return randomBytes(32).toString('base64url').padEnd(44, '=');
}

function decodeKey(key: string | Uint8Array): { signing: Buffer; encryption: Buffer } {
  let bytes: Buffer;
  if (typeof key === 'string') {
    const text = key.trim();
    if (!/^[A-Za-z0-9_-]{43}=?$/.test(text)) throw new TypeError('a Fernet key must be 32 bytes in url-safe base64');
    bytes = Buffer.from(text, 'base64url');
  } else {
    bytes = Buffer.from(key);
  }
  if (bytes.length !== 32) throw new TypeError('a Fernet key must be 32 bytes');
  return { signing: bytes.subarray(0, 16), encryption: bytes.subarray(16, 32) };
}

function toBytes(data: string | Uint8Array): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
}

/** Decodes and authenticates a token; returns its timestamp and the verified body. */
function parseToken(token: string | Uint8Array, signing: Buffer): { timestamp: number; data: Buffer } {
  const text = (typeof token === 'string' ? token : Buffer.from(token).toString('latin1')).trim();
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9_-]+={0,2}$/.test(text)) throw new DecryptionError('malformed', 'the Fernet token is not url-safe base64');
  const data = Buffer.from(text, 'base64url');
  // Node ignores the unused low bits of the last character, so several strings decode to one
  // token; only the canonical encoding is accepted (a token string is then unique, e.g. for replay lists).
  if (data.toString('base64url').padEnd(text.length, '=') !== text) throw new DecryptionError('malformed', 'the Fernet token is not canonical url-safe base64');
  const ciphertextBytes = data.length - HEADER_BYTES - MAC_BYTES;
  if (data[0] !== VERSION) throw new DecryptionError(data.length === 0 ? 'malformed' : 'unsupported_version', 'the Fernet token version is not 0x80');
  if (ciphertextBytes <= 0 || ciphertextBytes % 16 !== 0) throw new DecryptionError('malformed', 'the Fernet token is truncated or has a bad length');
  const expected = createHmac('sha256', signing).update(data.subarray(0, data.length - MAC_BYTES)).digest();
  if (!timingSafeEqual(expected, data.subarray(data.length - MAC_BYTES))) {
    throw new DecryptionError('authentication_failed', 'the Fernet token failed authentication (tampered or wrong key)');
  }
  // Seconds fit in a double exactly for any plausible date; 2^53 s is far beyond year 10^8.
  return { timestamp: Number(data.readBigUInt64BE(1)), data };
}

/**
 * Builds a token from explicit parts. Only for test vectors and `rotate`: a reused IV under one
 * key breaks confidentiality, so application code uses `Fernet.encrypt`.
 */
export function fernetTokenFromParts(key: string | Uint8Array, parts: { plaintext: Uint8Array; timestamp: number; iv: Uint8Array }): string {
  const { signing, encryption } = decodeKey(key);
  if (parts.iv.length !== 16) throw new TypeError('a Fernet IV is 16 bytes');
  const cipher = createCipheriv('aes-128-cbc', encryption, parts.iv);
  const body = Buffer.concat([cipher.update(parts.plaintext), cipher.final()]);
  const head = Buffer.alloc(9);
  head[0] = VERSION;
  head.writeBigUInt64BE(BigInt(Math.floor(parts.timestamp)), 1);
  const signed = Buffer.concat([head, parts.iv, body]);
  const mac = createHmac('sha256', signing).update(signed).digest();
  return Buffer.concat([signed, mac]).toString('base64url').padEnd(Math.ceil((signed.length + MAC_BYTES) / 3) * 4, '=');
}

/** One Fernet key: encrypt, decrypt with TTL and clock-skew checks. */
export class Fernet {
  readonly #key: Buffer;
  readonly #signing: Buffer;
  readonly #encryption: Buffer;
  readonly #now: () => number;
  readonly #maxSkew: number;

  constructor(key: string | Uint8Array, options: FernetOptions = {}) {
    const { signing, encryption } = decodeKey(key);
    this.#key = Buffer.concat([signing, encryption]);
    this.#signing = signing;
    this.#encryption = encryption;
    this.#now = options.now ?? Date.now;
    this.#maxSkew = options.maxClockSkewSec ?? FERNET_MAX_CLOCK_SKEW_SEC;
    // NaN would make every future-timestamp comparison false, i.e. accept any timestamp.
    if (!Number.isFinite(this.#maxSkew) || this.#maxSkew < 0) throw new TypeError('maxClockSkewSec must be a finite number >= 0');
  }

  #nowSec(): number {
    return Math.floor(this.#now() / 1000);
  }

  /** Encrypts with a fresh random IV and the current time. */
  encrypt(plaintext: string | Uint8Array): string {
    return this.encryptAt(plaintext, this.#nowSec());
  }

  /** Encrypts with a fresh random IV and the given timestamp (seconds); used to keep a token's age across rotation. */
  encryptAt(plaintext: string | Uint8Array, timestampSec: number): string {
    return fernetTokenFromParts(this.#key, { plaintext: toBytes(plaintext), timestamp: timestampSec, iv: randomBytes(16) });
  }

  /** Verifies and decrypts; throws DecryptionError (never partial plaintext). */
  decrypt(token: string | Uint8Array, options: FernetDecryptOptions = {}): Buffer {
    return this.decryptWithTimestamp(token, options).plaintext;
  }

  /** Like decrypt, also returning the token's timestamp (seconds). */
  decryptWithTimestamp(token: string | Uint8Array, options: FernetDecryptOptions = {}): { plaintext: Buffer; timestamp: number } {
    // NaN or a negative TTL would silently disable (or invert) the age check: refuse it.
    if (options.ttlSec !== undefined && (!Number.isFinite(options.ttlSec) || options.ttlSec < 0)) throw new TypeError('ttlSec must be a finite number >= 0');
    const { timestamp, data } = parseToken(token, this.#signing);
    const now = this.#nowSec();
    // Both age checks apply only with a TTL, as in Python's cryptography: without one a token's
    // timestamp is not a claim the caller relies on (and MultiFernet.rotate must carry any token).
    if (options.ttlSec !== undefined) {
      if (timestamp + options.ttlSec < now) throw new DecryptionError('expired', 'the Fernet token has expired');
      if (timestamp > now + this.#maxSkew) throw new DecryptionError('not_yet_valid', 'the Fernet token is stamped too far in the future');
    }
    try {
      const decipher = createDecipheriv('aes-128-cbc', this.#encryption, data.subarray(9, HEADER_BYTES));
      const plaintext = Buffer.concat([decipher.update(data.subarray(HEADER_BYTES, data.length - MAC_BYTES)), decipher.final()]);
      return { plaintext, timestamp };
    } catch {
      // Only reachable with a valid MAC, i.e. a token made by the key holder with bad padding.
      throw new DecryptionError('malformed', 'the Fernet token has invalid padding');
    }
  }

  /** The token's timestamp (seconds) after verifying its MAC. */
  extractTimestamp(token: string | Uint8Array): number {
    return parseToken(token, this.#signing).timestamp;
  }
}
