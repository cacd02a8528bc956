import { describe, expect, it } from 'vitest';
import { generateAesKeyEntry } from '../../src/crypto/aes-gcm-keyring.js';
import { DecryptionError } from '../../src/crypto/decryption-error.js';
import { createKeyringFieldCipher, createPlaintextFieldCipher, fieldCipherFromSettings, isEncryptedField } from '../../src/crypto/field-cipher.js';

const ROOT = 'root-secret-for-tests-0123456789abcdef';

describe('keyring field cipher', () => {
  it('encrypts to a prefixed envelope bound to its context, and decrypts', () => {
    const cipher = createKeyringFieldCipher({ rootSecret: ROOT, keyring: generateAesKeyEntry('k1') });
    const stored = cipher.encrypt('alice@example.com', 'users.email');
    expect(cipher.enabled).toBe(true);
    expect(isEncryptedField(stored)).toBe(true);
    expect(stored).not.toContain('alice');
    expect(cipher.decrypt(stored, 'users.email')).toBe('alice@example.com');
    expect(() => cipher.decrypt(stored, 'signing_keys.private_key')).toThrow(DecryptionError);
    expect(() => cipher.decrypt('alice@example.com', 'users.email')).toThrow(DecryptionError);
    expect(() => cipher.decrypt(`${stored.slice(0, -4)}!!!!`, 'users.email')).toThrow(DecryptionError);
    // Stored data that does not decrypt is a server error, not a 400 for the caller.
    expect(() => cipher.decrypt(stored, 'users.email:other')).toThrow(expect.objectContaining({ status: 500, code: 'decryption_failed', reason: 'authentication_failed' }));
  });

  it('fails closed when encryption is turned off but values are still encrypted; odd plaintexts stay plaintext', () => {
    const cipher = createKeyringFieldCipher({ rootSecret: ROOT, keyring: generateAesKeyEntry('k1') });
    const stored = cipher.encrypt('alice@example.com', 'users.email:1');
    expect(() => createPlaintextFieldCipher(ROOT).decrypt(stored, 'users.email:1')).toThrow(expect.objectContaining({ code: 'decryption_failed', status: 500 }));
    expect(isEncryptedField('wenc1.bob@example.com')).toBe(false);
    expect(createPlaintextFieldCipher(ROOT).decrypt('wenc1.bob@example.com', 'users.email:1')).toBe('wenc1.bob@example.com');
    expect(cipher.needsRotation('wenc1.bob@example.com')).toBe(true);
  });

  it('keeps the blind index independent of the encryption keyring (rotation never breaks lookups)', () => {
    const a = createKeyringFieldCipher({ rootSecret: ROOT, keyring: generateAesKeyEntry('k1') });
    const b = createKeyringFieldCipher({ rootSecret: ROOT, keyring: generateAesKeyEntry('k2') });
    const plain = createPlaintextFieldCipher(ROOT);
    const index = a.blindIndex('alice@example.com', 'users.email');
    expect(b.blindIndex('alice@example.com', 'users.email')).toBe(index);
    expect(plain.blindIndex('alice@example.com', 'users.email')).toBe(index);
    expect(a.blindIndex('alice@example.com', 'other')).not.toBe(index);
    expect(createPlaintextFieldCipher(`${ROOT}x`).blindIndex('alice@example.com', 'users.email')).not.toBe(index);
  });

  it('reports which stored values need rotation', () => {
    const k1 = generateAesKeyEntry('k1');
    const old = createKeyringFieldCipher({ rootSecret: ROOT, keyring: k1 });
    const current = createKeyringFieldCipher({ rootSecret: ROOT, keyring: `${generateAesKeyEntry('k2')},${k1}` });
    const stored = old.encrypt('v', 'c');
    expect(current.needsRotation(stored)).toBe(true);
    expect(current.needsRotation('plain')).toBe(true);
    expect(current.needsRotation(current.encrypt('v', 'c'))).toBe(false);
    expect(current.decrypt(stored, 'c')).toBe('v');
  });

  it('is chosen by the settings: keyring when WARDEN_ENCRYPTION_KEY is set, else plaintext', () => {
    expect(fieldCipherFromSettings({ secretKey: ROOT }).enabled).toBe(false);
    expect(fieldCipherFromSettings({ secretKey: ROOT, encryptionKey: generateAesKeyEntry() }).enabled).toBe(true);
    expect(() => fieldCipherFromSettings({})).toThrow(TypeError);
  });
});
