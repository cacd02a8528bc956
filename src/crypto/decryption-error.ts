import { WardenError } from '../errors/index.js';

/** Why a ciphertext was rejected; safe to show (never contains key material or plaintext). */
export type DecryptionFailure =
  | 'malformed'
  | 'unsupported_version'
  | 'unknown_key'
  | 'authentication_failed'
  | 'expired'
  | 'not_yet_valid';

/**
 * A ciphertext that does not decrypt: tampered, truncated, made with another key, expired.
 * Never carries plaintext, partial plaintext or key material; `reason` is machine-readable.
 */
export class DecryptionError extends WardenError {
  readonly reason: DecryptionFailure;

  /** `status` 500 marks server-side data (a stored column) rather than caller input (the default, 400). */
  constructor(reason: DecryptionFailure, message: string, options: { status?: number } = {}) {
    super('decryption_failed', message, { fields: { reason }, ...(options.status === undefined ? {} : { status: options.status }) });
    this.reason = reason;
  }
}
