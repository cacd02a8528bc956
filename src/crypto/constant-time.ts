import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

// A per-process key: comparing HMACs of both sides makes the comparison constant-time even
// when the inputs differ in length, without leaking the length of the secret.
const COMPARE_KEY = randomBytes(32);

/** Compares two secrets (strings or buffers, any lengths) in constant time. */
export function constantTimeEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  const da = createHmac('sha256', COMPARE_KEY).update(a).digest();
  const db = createHmac('sha256', COMPARE_KEY).update(b).digest();
  return timingSafeEqual(da, db);
}
