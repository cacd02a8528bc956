import type * as NodeCrypto from 'node:crypto';
import { pbkdf2Sync, randomBytes, scryptSync } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';

// The work each legacy verification asks of node:crypto, recorded; an oversized request is
// answered at once instead of being computed (the test only inspects what was asked).
const asked: { pbkdf2Blocks: number[]; scryptWork: number[] } = { pbkdf2Blocks: [], scryptWork: [] };
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof NodeCrypto>();
  const pbkdf2 = (
    password: string,
    salt: Buffer,
    iterations: number,
    keylen: number,
    digest: string,
    callback: (error: Error | null, key: Buffer) => void,
  ): void => {
    const blocks = iterations * Math.ceil(keylen / 32);
    asked.pbkdf2Blocks.push(blocks);
    if (blocks > 100_000) callback(null, Buffer.alloc(keylen));
    else actual.pbkdf2(password, salt, iterations, keylen, digest, callback);
  };
  const scrypt = (
    password: string,
    salt: Buffer,
    keylen: number,
    options: { N: number; r: number; p: number; maxmem: number },
    callback: (error: Error | null, key: Buffer) => void,
  ): void => {
    const work = 128 * options.N * options.r * options.p;
    asked.scryptWork.push(work);
    if (work > 2 ** 24) callback(null, Buffer.alloc(keylen));
    else actual.scrypt(password, salt, keylen, options, callback);
  };
  return { ...actual, default: { ...actual, pbkdf2, scrypt }, pbkdf2, scrypt };
});

const { verifyPassword } = await import('../../src/crypto/password-hashing.js');

// docs/encryption.md: the cost a stored hash carries is bounded — PBKDF2 to 5 M HMAC blocks
// (iterations × ⌈digest length / 32⌉), scrypt to 128·N·r·p ≤ 1 GiB. A row imported with a
// 6400-byte digest, or scrypt's p = 16 at 1 GiB a lane, made one login burn minutes of CPU on
// the pool every login shares; beyond the bounds verification is false without the work.
describe('legacy password hashes: the work a stored hash can ask for is bounded', () => {
  it('genuine Django, passlib and Werkzeug PBKDF2 hashes and a Werkzeug scrypt hash still verify', async () => {
    const digest = pbkdf2Sync('hunter2-hunter2', 'somesalt', 1000, 32, 'sha256');
    expect(
      await verifyPassword(`pbkdf2_sha256$1000$somesalt$${digest.toString('base64')}`, 'hunter2-hunter2'),
    ).toBe(true);
    const ab64 = (b: Buffer): string => b.toString('base64').replaceAll('+', '.').replace(/=+$/, '');
    expect(
      await verifyPassword(
        `$pbkdf2-sha256$1000$${ab64(Buffer.from('somesalt'))}$${ab64(digest)}`,
        'hunter2-hunter2',
      ),
    ).toBe(true);
    expect(
      await verifyPassword(`pbkdf2:sha256:1000$somesalt$${digest.toString('hex')}`, 'hunter2-hunter2'),
    ).toBe(true);
    const scrypted = scryptSync('hunter2-hunter2', 'somesalt', 64, { N: 1024, r: 8, p: 1 }).toString('hex');
    expect(await verifyPassword(`scrypt:1024:8:1$somesalt$${scrypted}`, 'hunter2-hunter2')).toBe(true);
  });

  it.each([
    ['Django', `pbkdf2_sha256$5000000$somesalt$${randomBytes(32 * 200).toString('base64')}`],
    [
      'passlib',
      `$pbkdf2-sha256$5000000$c29tZXNhbHQ$${randomBytes(32 * 200)
        .toString('base64')
        .replaceAll('+', '.')
        .replace(/=+$/, '')}`,
    ],
    ['Werkzeug', `pbkdf2:sha256:5000000$somesalt$${randomBytes(32 * 200).toString('hex')}`],
    [
      'Werkzeug, 3 M iterations and a 64-byte digest',
      `pbkdf2:sha256:3000000$somesalt$${randomBytes(64).toString('hex')}`,
    ],
  ])('%s PBKDF2 asking for more than 5 M blocks is false without computing it', async (_label, stored) => {
    asked.pbkdf2Blocks.length = 0;
    expect(await verifyPassword(stored, 'anything')).toBe(false);
    expect(asked.pbkdf2Blocks.filter((blocks) => blocks > 5_000_000)).toEqual([]);
  });

  it('scrypt with 16 lanes of 1 GiB is false without computing it', async () => {
    asked.scryptWork.length = 0;
    expect(
      await verifyPassword(`scrypt:1048576:8:16$somesalt$${randomBytes(64).toString('hex')}`, 'anything'),
    ).toBe(false);
    expect(asked.scryptWork.filter((work) => work > 2 ** 30)).toEqual([]);
  });
});
