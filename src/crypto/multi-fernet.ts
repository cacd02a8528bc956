import { DecryptionError } from './decryption-error.js';
import { Fernet, type FernetDecryptOptions, type FernetOptions } from './fernet.js';

/**
 * Several Fernet keys for rotation, as in Python's `MultiFernet`: the first encrypts, every
 * key decrypts; `rotate` re-encrypts a token under the first key keeping its timestamp.
 */
export class MultiFernet {
  readonly #fernets: readonly Fernet[];

  constructor(keys: readonly (string | Uint8Array | Fernet)[], options: FernetOptions = {}) {
    if (keys.length === 0) throw new TypeError('MultiFernet needs at least one key');
    this.#fernets = keys.map((k) => (k instanceof Fernet ? k : new Fernet(k, options)));
  }

  get #primary(): Fernet {
    return this.#fernets[0] as Fernet;
  }

  /** Encrypts with the first key. */
  encrypt(plaintext: string | Uint8Array): string {
    return this.#primary.encrypt(plaintext);
  }

  /** Decrypts with whichever key made the token; throws DecryptionError when none does. */
  decrypt(token: string | Uint8Array, options: FernetDecryptOptions = {}): Buffer {
    return this.#decrypt(token, options).plaintext;
  }

  /** Re-encrypts a token under the first key, keeping its original timestamp (no TTL check). */
  rotate(token: string | Uint8Array): string {
    const { plaintext, timestamp } = this.#decrypt(token, {});
    return this.#primary.encryptAt(plaintext, timestamp);
  }

  #decrypt(token: string | Uint8Array, options: FernetDecryptOptions): { plaintext: Buffer; timestamp: number } {
    for (const fernet of this.#fernets) {
      try {
        return fernet.decryptWithTimestamp(token, options);
      } catch (error) {
        // Only a MAC mismatch means "try the next key"; malformed, expired or future tokens fail
        // the same way under every key.
        if (!(error instanceof DecryptionError) || error.reason !== 'authentication_failed') throw error;
      }
    }
    throw new DecryptionError('authentication_failed', 'the Fernet token was not made by any key of the keyring (or was tampered with)');
  }
}

/** Parses a Fernet keyring: comma-separated keys, the first encrypts (like MultiFernet). */
export function parseFernetKeyring(text: string, options: FernetOptions = {}): MultiFernet {
  const keys = text
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');
  return new MultiFernet(keys, options);
}
