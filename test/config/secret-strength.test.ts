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
    // A real randomBytes(16) value whose measured character entropy is low by chance: the
    // uncorrected Shannon estimate put it at 11 bytes (about 1 random token in 10,000).
    expect(estimateEntropyBytes('4061f4fec6eeecb1101fecc6f142ff06')).toBe(16);
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

  it('does not flag random keys', () => {
    expect(isKnownDefaultSecret(randomBytes(32).toString('base64url'))).toBe(false);
  });
});
