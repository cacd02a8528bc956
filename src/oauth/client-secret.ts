import { createHmac, timingSafeEqual } from 'node:crypto';
import { deriveKey } from '../crypto/derive-key.js';
import { randomBase62 } from '../crypto/random.js';

/** Prefix that lets secret scanners recognise a leaked Warden client secret. */
export const CLIENT_SECRET_PREFIX = 'wcs_';

/** Creates client secrets (>= 256 bits) and their keyed hashes; compares in constant time. */
export class ClientSecretHasher {
  private readonly key: Buffer;

  constructor(rootSecret: string) {
    this.key = deriveKey(rootSecret, 'oauth-client-secret:v1');
  }

  /** A new secret: `wcs_` + 43 base62 characters (~256 bits). */
  generate(): string {
    return `${CLIENT_SECRET_PREFIX}${randomBase62(43)}`;
  }

  /** HMAC-SHA256 of the secret under a server-side key: a stolen table reveals nothing usable. */
  hash(secret: string): string {
    return createHmac('sha256', this.key).update(secret).digest('base64url');
  }

  /** True when `secret` hashes to `storedHash`, compared in constant time. */
  matches(secret: string, storedHash: string): boolean {
    const actual = Buffer.from(this.hash(secret));
    const expected = Buffer.from(storedHash);
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }
}
