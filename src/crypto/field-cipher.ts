import { createHmac } from 'node:crypto';
import { parseAesKeyring, type AesKeyring } from './aes-gcm-keyring.js';
import { envelopeKeyId, openEnvelope, sealEnvelope } from './aes-gcm-envelope.js';
import { DecryptionError } from './decryption-error.js';
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
  const blindIndex = blindIndexer(rootSecret);
  return {
    enabled: false,
    encrypt: (plaintext) => plaintext,
    decrypt: (stored) => {
      // Fail closed: after encryption was turned off, ciphertext must not pass as a value.
      if (isEncryptedField(stored)) {
        // The envelope's header names its key id (not secret): what the operator must configure.
        const keyId = envelopeKeyId(Buffer.from(stored.slice(ENCRYPTED_FIELD_PREFIX.length), 'base64url')) ?? '?';
        throw new DecryptionError('unknown_key', `a stored value is encrypted with key ${keyId} of WARDEN_ENCRYPTION_KEY, which is not set`, { status: 500 });
      }
      return stored;
    },
    blindIndex,
  };
}

// The blind-index key comes from the root secret, never from the encryption keyring, so that
// rotating encryption keys never changes an index (login by email keeps working).
function blindIndexer(rootSecret: string): (value: string, purpose: string) => string {
  const indexKey = deriveKey(rootSecret, 'blind-index:v1');
  return (value, purpose) => createHmac('sha256', indexKey).update(`${purpose}\0${value}`).digest('base64url');
}

/** Marks a stored value as an encrypted field (text form: prefix + base64url of the envelope). */
export const ENCRYPTED_FIELD_PREFIX = 'wenc1.';

/** A FieldCipher backed by an AES-256-GCM keyring, with what rotation needs. */
export interface KeyringFieldCipher extends FieldCipher {
  readonly enabled: true;
  readonly keyring: AesKeyring;
  /** True when a stored value is plaintext or sealed with a key other than the active one. */
  needsRotation(stored: string): boolean;
}

/**
 * True when a stored column value is an encrypted field (as opposed to legacy plaintext): the
 * prefix, a base64url body and an envelope header. An email such as "wenc1.bob@example.com"
 * is therefore still plaintext ('@' is not base64url).
 */
export function isEncryptedField(stored: string): boolean {
  if (!stored.startsWith(ENCRYPTED_FIELD_PREFIX)) return false;
  const body = stored.slice(ENCRYPTED_FIELD_PREFIX.length);
  return /^[A-Za-z0-9_-]+$/.test(body) && envelopeKeyId(Buffer.from(body, 'base64url')) !== undefined;
}

/**
 * The field cipher used when WARDEN_ENCRYPTION_KEY is set: AES-256-GCM envelopes with the
 * keyring's active key; older keys decrypt only. A stored value that is not an envelope is
 * rejected (fail closed) — run `warden crypto rotate` once after turning encryption on.
 */
export function createKeyringFieldCipher(options: { rootSecret: string; keyring: AesKeyring | string }): KeyringFieldCipher {
  const keyring = typeof options.keyring === 'string' ? parseAesKeyring(options.keyring) : options.keyring;
  return {
    enabled: true,
    keyring,
    encrypt(plaintext, aad) {
      return ENCRYPTED_FIELD_PREFIX + sealEnvelope(keyring, Buffer.from(plaintext, 'utf8'), aad).toString('base64url');
    },
    decrypt(stored, aad) {
      // A stored value that does not decrypt is a server-side problem (500), not the caller's.
      if (!isEncryptedField(stored)) throw new DecryptionError('malformed', 'a stored value is not an encrypted field', { status: 500 });
      const encoded = stored.slice(ENCRYPTED_FIELD_PREFIX.length);
      try {
        return openEnvelope(keyring, Buffer.from(encoded, 'base64url'), aad).toString('utf8');
      } catch (error) {
        if (error instanceof DecryptionError) throw new DecryptionError(error.reason, `a stored value could not be decrypted: ${error.message}`, { status: 500 });
        throw error;
      }
    },
    blindIndex: blindIndexer(options.rootSecret),
    needsRotation(stored) {
      if (!isEncryptedField(stored)) return true;
      return envelopeKeyId(Buffer.from(stored.slice(ENCRYPTED_FIELD_PREFIX.length), 'base64url')) !== keyring.active.id;
    },
  };
}

/** The field cipher the settings ask for: keyring-backed when WARDEN_ENCRYPTION_KEY is set, else plaintext. */
export function fieldCipherFromSettings(settings: { secretKey?: string | undefined; encryptionKey?: string | undefined }): FieldCipher {
  if (settings.secretKey === undefined) throw new TypeError('settings.secretKey must be set before the field cipher is created');
  if (settings.encryptionKey === undefined || settings.encryptionKey.trim() === '') return createPlaintextFieldCipher(settings.secretKey);
  return createKeyringFieldCipher({ rootSecret: settings.secretKey, keyring: settings.encryptionKey });
}
