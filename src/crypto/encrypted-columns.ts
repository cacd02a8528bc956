import { isRootSealed, PrivateKeySealer } from '../identity/private-key-sealing.js';

/**
 * One column whose values are stored through the FieldCipher. `aad(row)` must return exactly
 * the associated data the writing code passes to `fieldCipher.encrypt`, or rotation cannot
 * decrypt the value.
 */
export interface EncryptedColumn {
  readonly table: string;
  readonly idColumn: string;
  readonly column: string;
  aad(row: Readonly<Record<string, unknown>>): string;
  /**
   * For values written before field encryption was on in a non-plaintext legacy form (e.g.
   * signing keys sealed under a root-secret-derived key): returns what to encrypt, or throws
   * for a value the column must never hold (the row is then reported, not rotated). Without it
   * a non-envelope value is taken as plaintext.
   */
  openLegacy?(stored: string, row: Readonly<Record<string, unknown>>, rootSecret: string | undefined): string;
}

/**
 * Every encrypted column in the database; `warden crypto rotate` re-encrypts all of them.
 * Domains add theirs here (one entry each).
 */
export const ENCRYPTED_COLUMNS: readonly EncryptedColumn[] = [
  // identity (user-store.ts) stores fieldCipher.encrypt(email, `users.email:${id}`)
  { table: 'users', idColumn: 'id', column: 'email', aad: (row) => `users.email:${String(row.id)}` },
  // identity (private-key-sealing.ts): JWT signing keys. A value sealed under the root-secret-derived key before
  // encryption was on is wrapped as-is (it stays sealed inside the envelope; the sealer unwraps both layers).
  // Nothing ever stores one in clear, so a clear value is refused, not wrapped: whoever can write the table
  // without the secret would otherwise have rotation turn their key into one the sealer trusts.
  {
    table: 'signing_keys',
    idColumn: 'kid',
    column: 'private_key',
    aad: (row) => PrivateKeySealer.aad(String(row.kid)),
    openLegacy: (stored) => {
      if (!isRootSealed(stored)) throw new TypeError('signing key is not sealed (refusing a private key stored in clear)');
      return stored;
    },
  },
];
