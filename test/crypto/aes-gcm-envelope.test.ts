import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { envelopeKeyId, openEnvelope, sealEnvelope } from '../../src/crypto/aes-gcm-envelope.js';
import { createAesKeyring, formatAesKeyring, generateAesKeyEntry, parseAesKeyring } from '../../src/crypto/aes-gcm-keyring.js';
import { DecryptionError } from '../../src/crypto/decryption-error.js';

const reasonOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DecryptionError);
    return (error as DecryptionError).reason;
  }
  return 'accepted';
};

describe('AES-256-GCM envelope', () => {
  const keyring = parseAesKeyring(`${generateAesKeyEntry('k2')},${generateAesKeyEntry('k1')}`);

  it('round-trips with associated data and uses a fresh nonce each time', () => {
    const a = sealEnvelope(keyring, Buffer.from('hello'), 'users.email');
    const b = sealEnvelope(keyring, Buffer.from('hello'), 'users.email');
    expect(a.equals(b)).toBe(false);
    expect(envelopeKeyId(a)).toBe('k2');
    expect(a[0]).toBe(1);
    expect(a.length).toBe(1 + 1 + 2 + 12 + 5 + 16);
    expect(openEnvelope(keyring, a, 'users.email').toString()).toBe('hello');
  });

  it('reads a key id only from key-id characters (no high-bit aliases of a real id)', () => {
    const sealed = sealEnvelope(keyring, Buffer.from('x'), 'ctx');
    const alias = Buffer.from(sealed);
    alias[2] = (alias[2] as number) | 0x80; // 'k' | 0x80: Node's ascii decoder would read it back as 'k'
    expect(envelopeKeyId(alias)).toBeUndefined();
    expect(reasonOf(() => openEnvelope(keyring, alias, 'ctx'))).toBe('malformed');
    expect(envelopeKeyId(sealed)).toBe('k2');
  });

  it('rejects tampering of any byte, truncation, wrong context and unknown keys with a typed error', () => {
    const sealed = sealEnvelope(keyring, Buffer.from('secret value'), 'ctx');
    for (let i = 0; i < sealed.length; i += 1) {
      const bad = Buffer.from(sealed);
      bad[i] = (bad[i] as number) ^ 0x80;
      expect(reasonOf(() => openEnvelope(keyring, bad, 'ctx'))).not.toBe('accepted');
    }
    for (let cut = 0; cut < sealed.length; cut += 3) {
      expect(reasonOf(() => openEnvelope(keyring, sealed.subarray(0, cut), 'ctx'))).not.toBe('accepted');
    }
    expect(reasonOf(() => openEnvelope(keyring, sealed, 'other'))).toBe('authentication_failed');
    expect(reasonOf(() => openEnvelope(keyring, sealed))).toBe('authentication_failed');
    const stranger = parseAesKeyring(generateAesKeyEntry('k9'));
    expect(reasonOf(() => openEnvelope(stranger, sealed, 'ctx'))).toBe('unknown_key');
    const sameIdOtherKey = parseAesKeyring(generateAesKeyEntry('k2'));
    expect(reasonOf(() => openEnvelope(sameIdOtherKey, sealed, 'ctx'))).toBe('authentication_failed');
  });

  it('keeps old keys decrypt-only: a rotated keyring reads old envelopes and writes with the new key', () => {
    const old = parseAesKeyring(generateAesKeyEntry('old'));
    const sealed = sealEnvelope(old, Buffer.from('v'), 'x');
    const rotated = createAesKeyring([{ id: 'new', key: randomBytes(32) }, old.active]);
    expect(openEnvelope(rotated, sealed, 'x').toString()).toBe('v');
    expect(envelopeKeyId(sealEnvelope(rotated, Buffer.from('v'), 'x'))).toBe('new');
  });
});

describe('keyring format', () => {
  it('accepts standard base64 as well as base64url keys', () => {
    const key = randomBytes(32);
    expect(parseAesKeyring(`k:${key.toString('base64')}`).active.key.equals(key)).toBe(true);
  });

  it('parses id:key lists, first active, and formats them back', () => {
    const text = `${generateAesKeyEntry('a')}, ${generateAesKeyEntry('b')}`;
    const keyring = parseAesKeyring(text);
    expect(keyring.active.id).toBe('a');
    expect([...keyring.byId.keys()]).toEqual(['a', 'b']);
    expect(formatAesKeyring(keyring)).toBe(text.replace(' ', ''));
  });

  it('rejects bad entries naming the entry but never echoing the key', () => {
    const key = randomBytes(16).toString('base64url');
    const full = randomBytes(32).toString('base64url');
    for (const bad of ['', 'nokey', `a:${key}`, `a b:${full}`, `${full}:k1`, `${generateAesKeyEntry('a')},${generateAesKeyEntry('a')}`]) {
      let message = '';
      try {
        parseAesKeyring(bad);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).not.toBe('');
      expect(message).not.toContain(key);
      expect(message).not.toContain(full.slice(0, 8));
    }
  });
});
