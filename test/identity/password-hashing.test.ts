import { hash as bcryptHash } from '@node-rs/bcrypt';
import { describe, expect, it } from 'vitest';
import { hashPassword, needsRehash, passwordHashScheme, verifyPassword } from '../../src/crypto/password-hashing.js';

// Legacy vectors produced independently (Python's hashlib) in each system's encoding.
const LEGACY_PASSWORD = 'legacy-password-for-tests';
const LEGACY_VECTORS = {
  django_pbkdf2: 'pbkdf2_sha256$10000$saltysaltsalt123$pn7L4kjajhIoXIjer2UzpiiC5+SpsxoPRX9Qnu71gGU=',
  passlib_pbkdf2: '$pbkdf2-sha256$10000$MDEyMzQ1Njc4OWFiY2RlZg$i7PzM7EUwvoD9oBWLolr3omXERx17Mghab280IXmWV4',
  werkzeug_pbkdf2: 'pbkdf2:sha256:10000$wkzSalt0123456AB$0bb68608eb41b6877dd9401bbc8c810e0459d06037ce7a0fd98913baddbe304f',
  werkzeug_scrypt:
    'scrypt:16384:8:1$wkzSalt0123456AB$a372b5887797ab82d0104115e8e541afa5943d7b9704448b20f8cb0f98cd2afc9f14400858b6a26142661dee1f5a3816a70c328c57ca9f03a3c55cb0e11e98c4',
  passlib_scrypt: '$scrypt$ln=14,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg$YnWg0Ez3VCYeZfmsGmtaJcCWlaoPieUJWXzmG6Z8xvc',
} as const;

describe('password hashing', () => {
  it('hashes with argon2id at (at least) the OWASP parameters and verifies', async () => {
    const stored = await hashPassword('correct horse battery staple');
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(stored, 'correct horse battery staple')).toBe(true);
    expect(await verifyPassword(stored, 'correct horse battery stapler')).toBe(false);
    expect(needsRehash(stored)).toBe(false);
    expect(needsRehash(stored, { memoryKib: 65_536, iterations: 2, parallelism: 1 })).toBe(true);
  });

  it.each(Object.entries(LEGACY_VECTORS))('verifies the legacy %s encoding and asks for a re-hash', async (_name, stored) => {
    expect(passwordHashScheme(stored)).toBeDefined();
    expect(await verifyPassword(stored, LEGACY_PASSWORD)).toBe(true);
    expect(await verifyPassword(stored, `${LEGACY_PASSWORD}x`)).toBe(false);
    expect(needsRehash(stored)).toBe(true);
  });

  it('verifies bcrypt ($2a$ published vector and a $2b$ hash)', async () => {
    // crypt_blowfish test vector.
    expect(await verifyPassword('$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW', 'U*U')).toBe(true);
    const stored = await bcryptHash('bcrypt-password-1', { cost: 4 });
    expect(await verifyPassword(stored, 'bcrypt-password-1')).toBe(true);
    expect(await verifyPassword(stored, 'bcrypt-password-2')).toBe(false);
    expect(needsRehash(stored)).toBe(true);
  });

  it('treats unknown, malformed and abusive encodings as a failed verification (no throw)', async () => {
    for (const stored of [
      '',
      'plaintext',
      '$md5$abc',
      'pbkdf2_sha256$notanumber$salt$AAAA',
      'pbkdf2_sha256$999999999$salt$pn7L4kjajhIoXIjer2UzpiiC5+SpsxoPRX9Qnu71gGU=',
      'scrypt:4294967296:8:1$salt$00',
      '$scrypt$ln=40,r=8,p=1$c2FsdA$AAAA',
      '$argon2id$v=19$m=19456,t=2,p=1$broken',
    ]) {
      expect(await verifyPassword(stored, 'anything')).toBe(false);
    }
  });
});
