// The public surface of warden/crypto. Internals (envelope layout helpers) are reachable by path
// for the CLI and tests but not re-exported here.
export { constantTimeEqual } from './constant-time.js';
export { deriveKey } from './derive-key.js';
export { hkdf, hmac, sha256, sha256Text, verifyHmac } from './digests.js';
export { randomBase62, randomBase64Url, randomHex, uuidV4 } from './random.js';
export { DecryptionError, type DecryptionFailure } from './decryption-error.js';
export { Fernet, FERNET_MAX_CLOCK_SKEW_SEC, generateFernetKey, type FernetDecryptOptions, type FernetOptions } from './fernet.js';
export { MultiFernet, parseFernetKeyring } from './multi-fernet.js';
export { createAesKeyring, formatAesKeyring, generateAesKeyEntry, parseAesKeyring, type AesKey, type AesKeyring } from './aes-gcm-keyring.js';
export { envelopeKeyId, openEnvelope, sealEnvelope } from './aes-gcm-envelope.js';
export {
  createKeyringFieldCipher,
  createPlaintextFieldCipher,
  fieldCipherFromSettings,
  isEncryptedField,
  type FieldCipher,
  type KeyringFieldCipher,
} from './field-cipher.js';
export { ENCRYPTED_COLUMNS, type EncryptedColumn } from './encrypted-columns.js';
export { rotateEncryptedColumns, type ColumnRotationReport, type RotateColumnsOptions } from './rotate-columns.js';
export { createSecureTempFile, privateTempDir, startSecureTempSweeper, sweepSecureTempFiles, withSecureTempFile } from './secure-temp.js';
