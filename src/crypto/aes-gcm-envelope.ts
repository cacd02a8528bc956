import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { AesKeyring } from './aes-gcm-keyring.js';
import { DecryptionError } from './decryption-error.js';

/**
 * Versioned AES-256-GCM envelope, binary layout:
 *   version (1 byte = 0x01) | key id length (1 byte) | key id (ASCII) | nonce (12) | ciphertext | tag (16)
 * The header (version + key id) is authenticated together with the caller's associated data,
 * so neither the key id nor the context can be swapped without the tag failing.
 */
export const ENVELOPE_VERSION = 0x01;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
// The bytes a key id may hold (A-Z a-z 0-9 _ -), as createAesKeyring enforces.
const KEY_ID_BYTE: readonly boolean[] = Array.from({ length: 256 }, (_, b) => /^[A-Za-z0-9_-]$/.test(String.fromCharCode(b)));

function header(keyId: string): Buffer {
  const id = Buffer.from(keyId, 'ascii');
  return Buffer.concat([Buffer.from([ENVELOPE_VERSION, id.length]), id]);
}

function associated(head: Buffer, aad: string | Uint8Array | undefined): Buffer {
  const extra = aad === undefined ? Buffer.alloc(0) : typeof aad === 'string' ? Buffer.from(aad, 'utf8') : Buffer.from(aad);
  return Buffer.concat([head, extra]);
}

/** Encrypts with the keyring's active key and a random 96-bit nonce; returns the envelope. */
export function sealEnvelope(keyring: AesKeyring, plaintext: Uint8Array, aad?: string | Uint8Array): Buffer {
  const { id, key } = keyring.active;
  const head = header(id);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(associated(head, aad));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([head, nonce, body, cipher.getAuthTag()]);
}

/** The key id an envelope names, or undefined when the bytes are not an envelope. */
export function envelopeKeyId(envelope: Uint8Array): string | undefined {
  if (envelope.length < 2 || envelope[0] !== ENVELOPE_VERSION) return undefined;
  const idLength = envelope[1] as number;
  if (idLength === 0 || idLength > 32 || envelope.length < 2 + idLength + NONCE_BYTES + TAG_BYTES) return undefined;
  const id = envelope.subarray(2, 2 + idLength);
  // Only key-id characters: Node's 'ascii' decoder drops the high bit, so 0xEB 0x31 would read as "k1".
  for (const byte of id) if (!KEY_ID_BYTE[byte]) return undefined;
  return Buffer.from(id).toString('ascii');
}

/**
 * Decrypts an envelope with whichever keyring key it names. Throws DecryptionError (never
 * returns partial plaintext) when it is malformed, names an unknown key or fails authentication.
 */
export function openEnvelope(keyring: AesKeyring, envelope: Uint8Array, aad?: string | Uint8Array): Buffer {
  const bytes = Buffer.from(envelope.buffer, envelope.byteOffset, envelope.byteLength);
  if (bytes.length >= 1 && bytes[0] !== ENVELOPE_VERSION) {
    throw new DecryptionError('unsupported_version', 'the ciphertext is not a supported envelope version');
  }
  const keyId = envelopeKeyId(bytes);
  if (keyId === undefined) throw new DecryptionError('malformed', 'the ciphertext is truncated or malformed');
  const key = keyring.byId.get(keyId);
  if (key === undefined) throw new DecryptionError('unknown_key', `the ciphertext was made with key ${keyId.replace(/[^A-Za-z0-9_-]/g, '?')}, which is not in the keyring`);
  const headLength = 2 + Buffer.byteLength(keyId, 'ascii');
  const nonce = bytes.subarray(headLength, headLength + NONCE_BYTES);
  const body = bytes.subarray(headLength + NONCE_BYTES, bytes.length - TAG_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(associated(bytes.subarray(0, headLength), aad));
    decipher.setAuthTag(tag);
    // update() output is only released after final() has verified the tag.
    const out = decipher.update(body);
    const last = decipher.final();
    return Buffer.concat([out, last]);
  } catch {
    throw new DecryptionError('authentication_failed', 'the ciphertext failed authentication (tampered, wrong key or wrong context)');
  }
}
