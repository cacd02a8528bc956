import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DecryptionError } from '../../src/crypto/decryption-error.js';
import { Fernet, fernetTokenFromParts, generateFernetKey } from '../../src/crypto/fernet.js';
import { MultiFernet } from '../../src/crypto/multi-fernet.js';

interface Vector {
  desc?: string;
  token: string;
  now: string;
  iv?: number[];
  src?: string;
  ttl_sec?: number;
  secret: string;
}
const load = (name: string): Vector[] => JSON.parse(readFileSync(new URL(`./vectors/${name}`, import.meta.url), 'utf8')) as Vector[];
const at = (iso: string) => () => Date.parse(iso);

describe('Fernet spec vectors', () => {
  it.each(load('generate.json'))('generates the published token for "$src"', (v) => {
    const token = fernetTokenFromParts(v.secret, {
      plaintext: Buffer.from(v.src ?? ''),
      timestamp: Date.parse(v.now) / 1000,
      iv: Uint8Array.from(v.iv ?? []),
    });
    expect(token).toBe(v.token);
  });

  it.each(load('verify.json'))('verifies the published token', (v) => {
    const fernet = new Fernet(v.secret, { now: at(v.now) });
    expect(fernet.decrypt(v.token, { ttlSec: v.ttl_sec }).toString()).toBe(v.src);
  });

  it.each([...load('invalid.json'), ...load('invalid-extra.json')])('rejects: $desc', (v) => {
    const fernet = new Fernet(v.secret, { now: at(v.now) });
    const ttlSec = v.ttl_sec === 0 ? undefined : v.ttl_sec;
    expect(() => fernet.decrypt(v.token, { ttlSec })).toThrow(DecryptionError);
  });

  it('names the reason for expired and far-future tokens', () => {
    const [expired] = load('invalid.json').filter((v) => v.desc === 'expired TTL');
    const [future] = load('invalid.json').filter((v) => v.desc?.startsWith('far-future') === true);
    const reason = (v: Vector | undefined): unknown => {
      try {
        new Fernet(v!.secret, { now: at(v!.now) }).decrypt(v!.token, { ttlSec: v!.ttl_sec });
      } catch (error) {
        return (error as DecryptionError).reason;
      }
      return 'accepted';
    };
    expect(reason(expired)).toBe('expired');
    expect(reason(future)).toBe('not_yet_valid');
  });
});

describe('Fernet', () => {
  it('round-trips binary data and rejects every single-byte tampering and truncation', () => {
    const key = generateFernetKey();
    const fernet = new Fernet(key);
    const token = fernet.encrypt(Buffer.from([0, 1, 2, 255]));
    expect([...fernet.decrypt(token)]).toEqual([0, 1, 2, 255]);
    const raw = Buffer.from(token, 'base64url');
    for (let i = 0; i < raw.length; i += 1) {
      const bad = Buffer.from(raw);
      bad[i] = (bad[i] as number) ^ 0x01;
      expect(() => fernet.decrypt(bad.toString('base64url').padEnd(token.length, '='))).toThrow(DecryptionError);
    }
    for (const cut of [0, 1, 10, raw.length - 1]) {
      expect(() => fernet.decrypt(raw.subarray(0, cut).toString('base64url'))).toThrow(DecryptionError);
    }
    expect(() => new Fernet(generateFernetKey()).decrypt(token)).toThrow(DecryptionError);
  });

  it('checks the TTL and clock skew against the injected clock', () => {
    let now = 1_700_000_000_000;
    const fernet = new Fernet(generateFernetKey(), { now: () => now });
    const token = fernet.encrypt('x');
    now += 60_000;
    expect(fernet.decrypt(token, { ttlSec: 60 }).toString()).toBe('x');
    now += 1_000;
    expect(() => fernet.decrypt(token, { ttlSec: 60 })).toThrow(expect.objectContaining({ reason: 'expired', code: 'decryption_failed' }));
    now -= 61_000 + 61_000;
    expect(() => fernet.decrypt(token, { ttlSec: 60 })).toThrow(expect.objectContaining({ reason: 'not_yet_valid' }));
    // Without a TTL, as in Python's cryptography, the timestamp is not checked either way.
    expect(fernet.decrypt(token).toString()).toBe('x');
    now += 10 * 86_400_000;
    expect(fernet.decrypt(token).toString()).toBe('x');
  });

  it('rotates a token stamped in the future, keeping its timestamp, as Python does', () => {
    const now = 1_700_000_000_000;
    const [oldKey, newKey] = [generateFernetKey(), generateFernetKey()];
    const token = new Fernet(oldKey, { now: () => now + 3_600_000 }).encrypt('later');
    const rotated = new MultiFernet([newKey, oldKey], { now: () => now }).rotate(token);
    expect(new Fernet(newKey, { now: () => now }).decrypt(rotated).toString()).toBe('later');
    expect(new Fernet(newKey).extractTimestamp(rotated)).toBe(new Fernet(oldKey).extractTimestamp(token));
  });

  it('refuses a NaN or negative TTL and clock skew instead of silently skipping the check', () => {
    let now = 1_700_000_000_000;
    const fernet = new Fernet(generateFernetKey(), { now: () => now });
    const token = fernet.encrypt('x');
    now += 10 * 86_400_000;
    for (const ttlSec of [Number.NaN, -1, Number.POSITIVE_INFINITY]) expect(() => fernet.decrypt(token, { ttlSec })).toThrow(TypeError);
    for (const maxClockSkewSec of [Number.NaN, -5]) expect(() => new Fernet(generateFernetKey(), { maxClockSkewSec })).toThrow(TypeError);
  });

  it('accepts only the canonical base64url encoding of a token', () => {
    const fernet = new Fernet(generateFernetKey());
    // 'x' encrypts to 89 bytes: the last base64 character carries 2 unused bits.
    const token = fernet.encrypt('x');
    const body = token.replace(/=+$/, '');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(body.at(-1) as string);
    const variant = `${body.slice(0, -1)}${alphabet[last ^ 0b01]}${token.slice(body.length)}`;
    expect(Buffer.from(variant, 'base64url')).toEqual(Buffer.from(token, 'base64url'));
    expect(() => fernet.decrypt(variant)).toThrow(expect.objectContaining({ reason: 'malformed' }));
    expect(fernet.decrypt(token).toString()).toBe('x');
  });

  it('refuses keys that are not 32 bytes of url-safe base64', () => {
    expect(() => new Fernet('short')).toThrow(TypeError);
    expect(() => new Fernet(Buffer.alloc(16))).toThrow(TypeError);
  });
});

describe('MultiFernet', () => {
  it('decrypts with any key, encrypts with the first, rotates keeping the timestamp', () => {
    const now = () => 1_700_000_000_000;
    const oldKey = generateFernetKey();
    const newKey = generateFernetKey();
    const old = new Fernet(oldKey, { now: () => 1_600_000_000_000 });
    const token = old.encrypt('secret');
    const multi = new MultiFernet([newKey, oldKey], { now });
    expect(multi.decrypt(token).toString()).toBe('secret');
    const rotated = multi.rotate(token);
    const onlyNew = new Fernet(newKey, { now });
    expect(onlyNew.decrypt(rotated).toString()).toBe('secret');
    expect(onlyNew.extractTimestamp(rotated)).toBe(1_600_000_000);
    expect(() => new MultiFernet([generateFernetKey()]).decrypt(token)).toThrow(expect.objectContaining({ reason: 'authentication_failed' }));
  });
});

const python = spawnSync('python3', ['-c', 'import cryptography.fernet'], { encoding: 'utf8' });
const havePython = python.status === 0;
if (!havePython) console.warn('SKIPPING Fernet interop tests: python3 with the cryptography package is not available');

const runPython = (script: string, input: string): string => {
  const result = spawnSync('python3', ['-c', script], { input, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`python failed: ${result.stderr}`);
  return result.stdout.trim();
};

describe.skipIf(!havePython)('Fernet interop with Python cryptography', () => {
  it('Python decrypts our tokens', () => {
    const key = generateFernetKey();
    const token = new Fernet(key).encrypt('héllo from node');
    const script = 'import sys,json\nfrom cryptography.fernet import Fernet\nd=json.load(sys.stdin)\nprint(Fernet(d["k"]).decrypt(d["t"].encode(), ttl=3600).decode())';
    expect(runPython(script, JSON.stringify({ k: key, t: token }))).toBe('héllo from node');
  });

  it('we decrypt Python tokens, and Python MultiFernet.rotate output', () => {
    const script = [
      'import sys',
      'from cryptography.fernet import Fernet, MultiFernet',
      'k1=Fernet.generate_key(); k2=Fernet.generate_key()',
      't=Fernet(k1).encrypt("from python ✓".encode())',
      'r=MultiFernet([Fernet(k2),Fernet(k1)]).rotate(t)',
      'print(k1.decode(), k2.decode(), t.decode(), r.decode())',
    ].join('\n');
    const [k1, k2, token, rotated] = runPython(script, '').split(' ');
    expect(new Fernet(k1!).decrypt(token!, { ttlSec: 3600 }).toString()).toBe('from python ✓');
    expect(new Fernet(k2!).decrypt(rotated!).toString()).toBe('from python ✓');
    // Python and we agree on rotation: our rotate of the Python token verifies in Python.
    const ours = new MultiFernet([k2!, k1!]).rotate(token!);
    const check = 'import sys,json\nfrom cryptography.fernet import Fernet\nd=json.load(sys.stdin)\nprint(Fernet(d["k"]).decrypt(d["t"].encode()).decode())';
    expect(runPython(check, JSON.stringify({ k: k2, t: ours }))).toBe('from python ✓');
  });
});
