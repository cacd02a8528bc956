import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { constantTimeEqual } from '../../src/crypto/constant-time.js';
import { hkdf, hmac, sha256, sha256Text, verifyHmac } from '../../src/crypto/digests.js';
import { randomBase62, randomBase64Url, randomHex, uuidV4 } from '../../src/crypto/random.js';

describe('random tokens', () => {
  it('have the requested size and alphabet and do not repeat', () => {
    expect(randomHex(16)).toMatch(/^[0-9a-f]{32}$/);
    expect(randomBase64Url(32)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(randomBase62(40)).toMatch(/^[0-9A-Za-z]{40}$/);
    expect(uuidV4()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(Array.from({ length: 200 }, () => randomBase62(22))).size).toBe(200);
    expect(() => randomHex(0)).toThrow(TypeError);
    expect(() => randomBase62(1.5)).toThrow(TypeError);
  });

  it('base62 uses every symbol (no truncated alphabet)', () => {
    const seen = new Set(randomBase62(4000));
    expect(seen.size).toBe(62);
  });
});

describe('digests', () => {
  it('SHA-256 and HMAC match RFC 4231 / FIPS 180 vectors', () => {
    expect(sha256Text('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256('abc').length).toBe(32);
    // RFC 4231 test case 2
    expect(hmac('Jefe', 'what do ya want for nothing?').toString('hex')).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
    const tag = createHmac('sha256', 'k').update('m').digest();
    expect(verifyHmac('k', 'm', tag)).toBe(true);
    expect(verifyHmac('k', 'm2', tag)).toBe(false);
    expect(verifyHmac('k', 'm', tag.subarray(0, 16))).toBe(false);
  });

  it('HKDF matches RFC 5869 test case 1', () => {
    const okm = hkdf(Buffer.from('0b'.repeat(22), 'hex'), {
      salt: Buffer.from('000102030405060708090a0b0c', 'hex'),
      info: Buffer.from('f0f1f2f3f4f5f6f7f8f9', 'hex'),
      length: 42,
    });
    expect(okm.toString('hex')).toBe('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
  });
});

describe('constantTimeEqual', () => {
  it('compares strings and buffers of any lengths', () => {
    expect(constantTimeEqual('secret', 'secret')).toBe(true);
    expect(constantTimeEqual('secret', 'secret!')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
    expect(constantTimeEqual(Buffer.from('abc'), 'abc')).toBe(true);
    expect(constantTimeEqual(Buffer.from([1, 2]), Buffer.from([1, 2, 3]))).toBe(false);
  });
});
