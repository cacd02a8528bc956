import { createHmac } from 'node:crypto';
import { deriveKey } from './derive-key.js';

/**
 * Encrypts sensitive columns at rest. `aad` binds a ciphertext to its place (e.g.
 * 'users.email:<id>'), so a value copied to another row or column does not decrypt.
 * `blindIndex` is a keyed HMAC for equality lookups (login by email) that works whether or
 * not encryption is on.
 */
export interface FieldCipher {
  /** True when values are actually encrypted (a keyring is configured). */
  readonly enabled: boolean;
  encrypt(plaintext: string, aad: string): string;
  decrypt(stored: string, aad: string): string;
  blindIndex(value: string, purpose: string): string;
}

/** The cipher used when no encryption keyring is configured: values stay in clear, the index is still keyed. */
export function createPlaintextFieldCipher(rootSecret: string): FieldCipher {
  const indexKey = deriveKey(rootSecret, 'blind-index:v1');
  return {
    enabled: false,
    encrypt: (plaintext) => plaintext,
    decrypt: (stored) => stored,
    blindIndex: (value, purpose) => createHmac('sha256', indexKey).update(`${purpose}\0${value}`).digest('base64url'),
  };
}
