import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { FieldCipher } from '../crypto/field-cipher.js';
import { deriveKey } from '../crypto/derive-key.js';

const SEALED_PREFIX = 'wsk1.';

/** True when a stored private key is in the root-secret-sealed form (not a field-cipher envelope). */
export function isRootSealed(stored: string): boolean {
  return stored.startsWith(SEALED_PREFIX);
}

/**
 * Seals signing private keys at rest: with the field cipher when encryption is configured,
 * otherwise AES-256-GCM under a key derived from the root secret ('signing-keys:v1'). Either
 * way the column never holds a key in clear, and the kid is bound in as associated data.
 */
export class PrivateKeySealer {
  private readonly derivedKey: Buffer;

  constructor(
    private readonly cipher: FieldCipher,
    rootSecret: string,
  ) {
    this.derivedKey = deriveKey(rootSecret, 'signing-keys:v1');
  }

  /** Encrypts a private JWK (JSON text) for the row of `kid`. */
  seal(privateJwkJson: string, kid: string): string {
    const aad = `signing_keys.private_key:${kid}`;
    if (this.cipher.enabled) return this.cipher.encrypt(privateJwkJson, aad);
    const iv = randomBytes(12);
    const gcm = createCipheriv('aes-256-gcm', this.derivedKey, iv);
    gcm.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([gcm.update(privateJwkJson, 'utf8'), gcm.final()]);
    return SEALED_PREFIX + Buffer.concat([iv, gcm.getAuthTag(), body]).toString('base64url');
  }

  /** The associated data a sealed key of `kid` is bound to (also used by `warden crypto rotate`). */
  static aad(kid: string): string {
    return `signing_keys.private_key:${kid}`;
  }

  /** Decrypts what `seal` produced (either form, so turning encryption on later keeps old keys readable). */
  open(sealed: string, kid: string): string {
    const aad = `signing_keys.private_key:${kid}`;
    if (!sealed.startsWith(SEALED_PREFIX)) {
      if (!this.cipher.enabled) {
        // An envelope written while encryption was on: the plaintext cipher refuses it, naming
        // the WARDEN_ENCRYPTION_KEY entry it needs.
        this.cipher.decrypt(sealed, aad);
        // Anything else it would hand back as-is: a private key written in clear (by whoever can
        // write the table, without the secret) would become a trusted signing key.
        throw new TypeError('signing key is not sealed (refusing a private key stored in clear)');
      }
      // `warden crypto rotate` may have wrapped a root-sealed value in a field-cipher envelope
      // as-is (it has no decoder for this form): unwrap both layers.
      const inner = this.cipher.decrypt(sealed, aad);
      return inner.startsWith(SEALED_PREFIX) ? this.openRootSealed(inner, aad) : inner;
    }
    return this.openRootSealed(sealed, aad);
  }

  private openRootSealed(sealed: string, aad: string): string {
    const raw = Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64url');
    if (raw.length < 29) throw new TypeError('sealed signing key is truncated');
    const gcm = createDecipheriv('aes-256-gcm', this.derivedKey, raw.subarray(0, 12));
    gcm.setAAD(Buffer.from(aad, 'utf8'));
    gcm.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([gcm.update(raw.subarray(28)), gcm.final()]).toString('utf8');
  }
}
