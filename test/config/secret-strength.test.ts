import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { estimateEntropyBytes, isKnownDefaultSecret } from '../../src/config/index.js';
import { assessSecretStrength } from '../../src/config/secret-strength.js';

const ENCODINGS = ['hex', 'base64', 'base64url'] as const;
const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

describe('estimateEntropyBytes', () => {
  it('credits random keys in the usual encodings with their byte length', () => {
    for (let i = 0; i < 20; i++) {
      expect(estimateEntropyBytes(randomBytes(32).toString('hex'))).toBeGreaterThanOrEqual(32);
      expect(estimateEntropyBytes(randomBytes(48).toString('base64'))).toBeGreaterThanOrEqual(32);
      expect(estimateEntropyBytes(randomBytes(32).toString('base64url'))).toBeGreaterThanOrEqual(32);
    }
  });

  it('never refuses a random 32-byte key, whatever its bytes and encoding', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.constantFrom(...ENCODINGS), (bytes, encoding) => {
        const key = Buffer.from(bytes).toString(encoding);
        expect(assessSecretStrength(key)).toEqual({ bytes: 32, weaknesses: [] });
      }),
      { numRuns: 3000 },
    );
    for (let i = 0; i < 3000; i++) {
      for (const encoding of ENCODINGS) expect(estimateEntropyBytes(randomBytes(32).toString(encoding))).toBe(32);
    }
  });

  it('credits random 16-byte hex tokens (the metrics token minimum) with 16 bytes', () => {
    // Real randomBytes(16) values whose measured character entropy is low by chance: a
    // threshold on the Shannon estimate put them at 11 bytes (about 1 token in 10,000, and
    // still 1 in 100,000 with the Miller–Madow correction; CI met one).
    expect(estimateEntropyBytes('4061f4fec6eeecb1101fecc6f142ff06')).toBe(16);
    expect(estimateEntropyBytes('48c7fce0b0b2c70cb0ce00c0efe0befc')).toBe(16);
    for (let i = 0; i < 3000; i++) expect(estimateEntropyBytes(randomBytes(16).toString('hex'))).toBe(16);
  });

  it('sees through long but repetitive values', () => {
    expect(estimateEntropyBytes('a'.repeat(100))).toBe(0);
    expect(estimateEntropyBytes('abc'.repeat(30))).toBeLessThan(32);
    expect(estimateEntropyBytes('0'.repeat(64))).toBe(0);
  });

  it('sees through values whose characters are evenly spread but follow a pattern', () => {
    // Each of these uses every symbol of its alphabet equally often, so Shannon entropy alone
    // credits them like random keys.
    expect(estimateEntropyBytes('0123456789abcdef'.repeat(4))).toBeLessThan(8);
    expect(estimateEntropyBytes('fedcba9876543210'.repeat(4))).toBeLessThan(8);
    expect(estimateEntropyBytes(BASE64_ALPHABET)).toBeLessThan(8);
    expect(estimateEntropyBytes(BASE64_ALPHABET.replace('+/', '-_'))).toBeLessThan(8);
    expect(estimateEntropyBytes([...BASE64_ALPHABET].reverse().join(''))).toBeLessThan(8);
    expect(estimateEntropyBytes('qwertyuiopasdfghjklzxcvbnmQWERTYUIOPASDFGHJKLZXCVBNM1234567890')).toBeLessThan(32);
  });

  it('counts a repeated random block once', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 16 }), fc.integer({ min: 2, max: 6 }), (block, times) => {
        const value = Buffer.from(block).toString('hex').repeat(times);
        expect(estimateEntropyBytes(value)).toBeLessThan(block.length + 4);
      }),
      { numRuns: 300 },
    );
  });

  it('does not credit a run appended to a shorter random key', () => {
    expect(estimateEntropyBytes(randomBytes(24).toString('hex') + '0123456789abcdef')).toBeLessThan(32);
  });

  it('rejects short values', () => {
    expect(estimateEntropyBytes(randomBytes(16).toString('hex'))).toBeLessThan(32);
    expect(estimateEntropyBytes('')).toBe(0);
  });
});

describe('estimateEntropyBytes on text', () => {
  it('credits printable text by the character classes it uses, not 8 bits per byte', () => {
    // 39 random printable characters carry 39 * log2(95) = 256 bits; 32 of them only 210.
    const password = '2.:(^W((M%PY4jZocHO:"5\\~zm6BW^Wa7o!(RJG';
    expect(estimateEntropyBytes(password)).toBe(32);
    expect(estimateEntropyBytes(password.slice(0, 32))).toBe(26);
  });

  it('judges hex or base64 of readable text as that text', () => {
    const sentence = 'this is my secret key for the warden service';
    const base64 = assessSecretStrength(Buffer.from(sentence).toString('base64'));
    const hex = assessSecretStrength(Buffer.from(sentence).toString('hex'));
    expect(base64.bytes).toBeLessThan(24);
    expect(hex.bytes).toBe(base64.bytes);
    for (const encoded of [base64, hex]) expect(encoded.weaknesses).toEqual(expect.arrayContaining(['encoded-text', 'words']));
    // Encoded text is only as strong as the text: a random key, hex-encoded and then base64-encoded, keeps its 32 bytes.
    expect(estimateEntropyBytes(Buffer.from(randomBytes(32).toString('hex')).toString('base64'))).toBe(32);
  });

  it.each([
    ['MyCompanyName-Production-Warden-Secret-Key-2024!!', ['words', 'years']],
    ['ThisIsMyVerySecretProductionKeyForWardenService2024', ['words', 'years']],
    ['MyC0mpanyN@me-Pr0duct10n-W@rden-S3cret-K3y-2024!!', ['words', 'years']],
    ['metrics-token-for-prometheus-scraper', ['words']],
    ['correct-horse-battery-staple-correct-horse', ['words', 'repeats']],
  ])('finds the words in %s and credits it with well under 32 bytes', (value, weaknesses) => {
    const strength = assessSecretStrength(value);
    expect(strength.bytes).toBeLessThanOrEqual(24);
    expect(strength.weaknesses).toEqual(expect.arrayContaining(weaknesses));
  });

  it('words with suffixes are words', () => {
    expect(assessSecretStrength('SecretsTokensScrapersPasswordsCookiesKeys').weaknesses).toContain('words');
  });

  it('credits an encoding-shaped value of one character class by that class', () => {
    // Valid base64, but lower-case letters only: 4.7 bits per character, not 6.
    const strength = assessSecretStrength('qzwxpvnrtkjhgfmbcdlsvmrtqzxwpvnkjhdfgblq');
    expect(strength.bytes).toBe(23);
    expect(strength.weaknesses).toContain('few-kinds');
  });

  it('does not hold a missing digit or symbol against a random key', () => {
    // A quarter of random base64url keys have no digit; the class estimate would cost them 2 bytes.
    expect(assessSecretStrength('YgMAECacBtPtjXZGzfqZaKEqYtBSGkZEKmghsVVKvIQ')).toEqual({ bytes: 32, weaknesses: [] });
    expect(assessSecretStrength('thGBtXbGjIHWFMuQkwmuqA')).toEqual({ bytes: 16, weaknesses: [] });
  });

  it('does not take random bytes that happen to decode as text for that text', () => {
    // randomBytes(16) in base64url; its bytes are valid UTF-8 for 11 characters, mostly outside
    // ASCII, which the text estimate priced at 84 bits when a non-ASCII character counted as
    // one of 100 symbols.
    expect(Buffer.from('b9-FcNyRPHHssJBJKd6IcA', 'base64url').toString('utf8')).toHaveLength(11);
    expect(assessSecretStrength('b9-FcNyRPHHssJBJKd6IcA')).toEqual({ bytes: 16, weaknesses: [] });
  });

  it('credits random 16-byte tokens in every encoding with 16 bytes', () => {
    for (let i = 0; i < 2000; i++) {
      for (const encoding of ENCODINGS) expect(estimateEntropyBytes(randomBytes(16).toString(encoding))).toBe(16);
    }
  });

  it('judges a value longer than the analysed prefix (the structure search is quadratic)', () => {
    expect(estimateEntropyBytes(randomBytes(6000).toString('base64'))).toBeGreaterThan(2000);
  });
});

describe('assessSecretStrength', () => {
  it('names the structure that lowered the estimate', () => {
    expect(assessSecretStrength('0123456789abcdef'.repeat(4)).weaknesses).toEqual(expect.arrayContaining(['repeats', 'sequences']));
    expect(assessSecretStrength(BASE64_ALPHABET).weaknesses).toEqual(['sequences']);
    expect(assessSecretStrength('a'.repeat(100)).weaknesses).toContain('few-symbols');
    expect(assessSecretStrength(randomBytes(16).toString('hex')).weaknesses).toEqual([]);
  });
});

describe('isKnownDefaultSecret', () => {
  it.each(['changeme', 'CHANGEME', 'secret', 'your-secret-key', 'replace-me-with-something-long-and-random-please', 'xxxxxxxxxxxxxxxxxxxxxxxx'])(
    'flags %s',
    (value) => {
      expect(isKnownDefaultSecret(value)).toBe(true);
    },
  );

  it('flags a placeholder hidden in base64 or hex', () => {
    expect(isKnownDefaultSecret(Buffer.from('changeme').toString('base64'))).toBe(true);
    expect(isKnownDefaultSecret(Buffer.from('your-secret-key\n').toString('hex'))).toBe(true);
  });

  it('does not flag random keys', () => {
    expect(isKnownDefaultSecret(randomBytes(32).toString('base64url'))).toBe(false);
  });
});
