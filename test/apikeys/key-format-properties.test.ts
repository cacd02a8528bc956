import fc from 'fast-check';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { generateApiKey, parseApiKey } from '../../src/apikeys/key-format.js';

// Properties of the key format, over generated keys: every key round-trips and matches the
// scanner regex and checksum that docs/api-keys.md gives; any one-character change, deletion,
// insertion or truncation is malformed; the parser accepts exactly what regex and checksum accept.

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const bytesSource = (bytes: number[]) => (n: number) =>
  Buffer.from(Array.from({ length: n }, (_, i) => bytes[i % bytes.length] ?? 0));
const keyArb = fc
  .tuple(
    fc.constantFrom('live' as const, 'test' as const),
    fc.array(fc.integer({ min: 0, max: 247 }), { minLength: 44, maxLength: 88 }),
  )
  .map(([env, bytes]) => generateApiKey(env, bytesSource(bytes)));
/** The offline check docs/api-keys.md gives scanners: CRC32 of the first 53 characters, base62, MSD first, 6 digits. */
function docChecksum(first53: string): string {
  let v = crc32(first53);
  let out = '';
  for (let i = 0; i < 6; i++) {
    out = B62[v % 62] + out;
    v = Math.floor(v / 62);
  }
  return out;
}
const DOC_SCANNER = /^wdn_(live|test)_[0-9A-Za-z]{50}$/;

describe('API key format', () => {
  it('every generated key parses, matches the documented regex and the documented checksum', () => {
    fc.assert(
      fc.property(keyArb, (key) => {
        expect(parseApiKey(key)).toEqual({ environment: key.slice(4, 8), prefix: key.slice(9, 17) });
        expect(DOC_SCANNER.test(key)).toBe(true);
        expect(docChecksum(key.slice(0, 53))).toBe(key.slice(53));
      }),
      { numRuns: 300 },
    );
  });

  it('any single-character change, deletion, insertion or truncation is malformed', () => {
    fc.assert(
      fc.property(
        keyArb,
        fc.nat(58),
        fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }),
        fc.string({ minLength: 1, maxLength: 3 }),
        (key, i, c, ins) => {
          if (key[i] !== c) expect(parseApiKey(key.slice(0, i) + c + key.slice(i + 1))).toBeUndefined();
          expect(parseApiKey(key.slice(0, i))).toBeUndefined();
          expect(parseApiKey(key.slice(0, i) + key.slice(i + 1))).toBeUndefined();
          expect(parseApiKey(key.slice(0, i) + ins + key.slice(i))).toBeUndefined();
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('the parser accepts exactly what the documented regex plus documented checksum accept', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('live', 'test', 'Live', 'tes7'),
        fc.string({ unit: fc.constantFrom(...B62, '-', '_'), minLength: 40, maxLength: 46 }),
        (env, body) => {
          const head = `wdn_${env}_${body}`;
          const s = head + docChecksum(head);
          expect(parseApiKey(s) !== undefined).toBe(
            DOC_SCANNER.test(s) && docChecksum(s.slice(0, 53)) === s.slice(53),
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});
