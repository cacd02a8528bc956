import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { estimateEntropyBytes, isKnownDefaultSecret } from '../../src/config/index.js';

describe('estimateEntropyBytes', () => {
  it('credits random keys in the usual encodings with their byte length', () => {
    for (let i = 0; i < 20; i++) {
      expect(estimateEntropyBytes(randomBytes(32).toString('hex'))).toBeGreaterThanOrEqual(32);
      expect(estimateEntropyBytes(randomBytes(48).toString('base64'))).toBeGreaterThanOrEqual(32);
      expect(estimateEntropyBytes(randomBytes(32).toString('base64url'))).toBeGreaterThanOrEqual(32);
    }
  });

  it('sees through long but repetitive values', () => {
    expect(estimateEntropyBytes('a'.repeat(100))).toBe(0);
    expect(estimateEntropyBytes('abc'.repeat(30))).toBeLessThan(32);
    expect(estimateEntropyBytes('0'.repeat(64))).toBe(0);
  });

  it('rejects short values', () => {
    expect(estimateEntropyBytes(randomBytes(16).toString('hex'))).toBeLessThan(32);
    expect(estimateEntropyBytes('')).toBe(0);
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
