import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { API_KEY_PATTERN, generateApiKey, parseApiKey, PREFIX_LENGTH } from '../../src/apikeys/key-format.js';
import { createPepperKeyring, parsePepperSetting } from '../../src/apikeys/pepper-keyring.js';

describe('API key format', () => {
  it('issues wdn_<env>_<44 random base62><6 checksum> keys that parse back', () => {
    const key = generateApiKey('live');
    expect(key).toMatch(/^wdn_live_[0-9A-Za-z]{50}$/);
    expect(API_KEY_PATTERN.test(key)).toBe(true);
    expect(parseApiKey(key)).toEqual({ environment: 'live', prefix: key.slice(9, 9 + PREFIX_LENGTH) });
    expect(parseApiKey(generateApiKey('test'))?.environment).toBe('test');
  });

  it('carries at least 256 bits of randomness (44 uniform base62 characters)', () => {
    expect(44 * Math.log2(62)).toBeGreaterThanOrEqual(256);
    // Every character position is uniformly drawn: all 62 characters show up across keys.
    const seen = new Set<string>();
    for (let i = 0; i < 200; i += 1) for (const c of generateApiKey('live').slice(9, 53)) seen.add(c);
    expect(seen.size).toBe(62);
  });

  it('rejects every single-character typo through the checksum', () => {
    fc.assert(
      fc.property(fc.integer({ min: 9, max: 58 }), fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'), (index, c) => {
        const key = generateApiKey('live');
        fc.pre(key[index] !== c);
        expect(parseApiKey(key.slice(0, index) + c + key.slice(index + 1))).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });

  it('rejects truncated, extended, re-labelled and swapped keys', () => {
    const key = generateApiKey('live');
    expect(parseApiKey(key.slice(0, -1))).toBeUndefined();
    expect(parseApiKey(`${key}x`)).toBeUndefined();
    expect(parseApiKey(key.replace('wdn_live_', 'wdn_test_'))).toBeUndefined();
    expect(parseApiKey(key.slice(0, 20) + key[21] + key[20] + key.slice(22))).toEqual(key[20] === key[21] ? parseApiKey(key) : undefined);
    expect(parseApiKey('')).toBeUndefined();
  });
});

describe('pepper keyring', () => {
  const secretKey = 'x'.repeat(64);

  it('derives v1 from the root secret and keys the hash with it', () => {
    const keyring = createPepperKeyring({ secretKey });
    expect(keyring.activeVersion).toBe(1);
    expect(keyring.hash('k', 1)).toMatch(/^[0-9a-f]{64}$/);
    expect(keyring.hash('k', 1)).not.toBe(createPepperKeyring({ secretKey: 'y'.repeat(64) }).hash('k', 1));
    expect(keyring.hash('k', 2)).toBeUndefined();
  });

  it('makes the first WARDEN_API_KEY_PEPPER entry active and keeps v1 for old hashes', () => {
    const pepper = Buffer.alloc(32, 7).toString('base64url');
    const keyring = createPepperKeyring({ secretKey, pepperSetting: `3:${pepper},2:${Buffer.alloc(32, 1).toString('base64url')}` });
    expect(keyring.activeVersion).toBe(3);
    expect(keyring.versions).toEqual([3, 1, 2]);
    expect(keyring.hash('k', 1)).toBe(createPepperKeyring({ secretKey }).hash('k', 1));
  });

  it('takes a bare 1 for the derived version, so a new version can be known before it is active', () => {
    const pepper = Buffer.alloc(32, 7).toString('base64url');
    const keyring = createPepperKeyring({ secretKey, pepperSetting: `1,2:${pepper}` });
    expect(keyring.activeVersion).toBe(1);
    expect(keyring.versions).toEqual([1, 2]);
    expect(keyring.hash('k', 1)).toBe(createPepperKeyring({ secretKey }).hash('k', 1));
    expect(keyring.hash('k', 2)).toBe(createPepperKeyring({ secretKey, pepperSetting: `2:${pepper}` }).hash('k', 2));
    expect(() => parsePepperSetting(`1,2:${pepper},1`)).toThrow(/version 1 appears twice/);
  });

  it('refuses bad entries without echoing the pepper', () => {
    expect(() => parsePepperSetting('1:' + Buffer.alloc(32).toString('base64url'))).toThrow(/versions start at 2/);
    expect(() => parsePepperSetting('2:c2hvcnQ')).toThrow(/at least 32 bytes/);
    expect(() => parsePepperSetting('2:c2hvcnQ')).not.toThrow(/c2hvcnQ/);
    expect(() => parsePepperSetting('nope')).toThrow(/entry 1/);
  });
});
