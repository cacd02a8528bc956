import { afterEach, describe, expect, it, vi } from 'vitest';
import type * as PasswordHashing from '../../src/crypto/password-hashing.js';
import { hashPassword, verifyPassword } from '../../src/crypto/password-hashing.js';
import { DEFAULT_PASSWORD_POLICY } from '../../src/identity/password-policy.js';
import { PasswordService, type HashingSlot } from '../../src/identity/password-service.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { login, seedUser } from './identity-helpers.js';

// Counts argon2 verifications (the real ones run): the work of a login must not depend on whether the email exists.
vi.mock('../../src/crypto/password-hashing.js', async (importOriginal) => {
  const original = await importOriginal<typeof PasswordHashing>();
  return { ...original, verifyPassword: vi.fn(original.verifyPassword) };
});

const CHEAP = { memoryKib: 1024, iterations: 1, parallelism: 1 };
const service = () => new PasswordService({ argon2: CHEAP, policy: DEFAULT_PASSWORD_POLICY, concurrency: 2, queueTimeoutMs: 10_000 });

// One password, spelt three ways: é as one code point (NFC), as e + U+0301 (NFD), and with a full-width digit.
const COMPOSED = 'caf\u00e9-violet-harbour-9';
const DECOMPOSED = 'cafe\u0301-violet-harbour-9';
const FULL_WIDTH = 'caf\u00e9-violet-harbour-\uff19';

describe('PasswordService hashes and verifies the NFKC form of a password', () => {
  it('verifies every spelling of the same password against one hash, without asking for a re-hash', async () => {
    const passwords = service();
    const stored = await passwords.hash(DECOMPOSED);
    for (const typed of [COMPOSED, DECOMPOSED, FULL_WIDTH]) expect(await passwords.verify(stored, typed), typed).toEqual({ matches: true, rehash: false });
    expect(await passwords.verify(stored, 'cafe-violet-harbour-9')).toEqual({ matches: false, rehash: false });
  });

  it('spends as many verifications on an unknown user as on a wrong password, for passwords NFKC changes or not', async () => {
    const passwords = service();
    const stored = await passwords.hash(COMPOSED);
    const verifications = async (work: () => Promise<unknown>): Promise<number> => {
      vi.mocked(verifyPassword).mockClear();
      await work();
      return vi.mocked(verifyPassword).mock.calls.length;
    };
    for (const wrong of ['cafe-violet-harbour-0', 'cafe\u0301-violet-harbour-0']) {
      const known = await verifications(() => passwords.verify(stored, wrong));
      const unknown = await verifications(() => passwords.verifyDummy(wrong));
      expect(unknown, wrong).toBe(known);
    }
    expect(await verifications(() => passwords.verifyDummy(DECOMPOSED))).toBe(2);
  });

  it('still verifies a hash made from the password as typed (before normalisation, or imported), and asks for a re-hash', async () => {
    const passwords = service();
    const legacy = await hashPassword(DECOMPOSED, CHEAP);
    expect(await passwords.verify(legacy, DECOMPOSED)).toEqual({ matches: true, rehash: true });
    // The re-hash is of the NFKC form, so afterwards every spelling verifies.
    const upgraded = await passwords.hash(DECOMPOSED);
    expect(await passwords.verify(upgraded, COMPOSED)).toEqual({ matches: true, rehash: false });
  });
});

describe('PasswordService.withSlot', () => {
  it('runs the work given its slot without queueing for another (with one slot, a second would time out), and a spent slot queues again', async () => {
    const passwords = new PasswordService({ argon2: CHEAP, policy: DEFAULT_PASSWORD_POLICY, concurrency: 1, queueTimeoutMs: 20 });
    const stored = await passwords.hash(COMPOSED);
    let spent: HashingSlot | undefined;
    const verdicts = await passwords.withSlot(async (slot) => {
      spent = slot;
      // Without the slot, this would wait for the one this work holds, and give up.
      await expect(passwords.verify(stored, COMPOSED)).rejects.toMatchObject({ code: 'overloaded' });
      await passwords.verifyDummy(DECOMPOSED, slot);
      return [await passwords.verify(stored, COMPOSED, slot), await passwords.verify(await passwords.hash(DECOMPOSED, slot), 'wrong-violet-harbour-9', slot)];
    });
    expect(verdicts).toEqual([
      { matches: true, rehash: false },
      { matches: false, rehash: false },
    ]);
    // Once its withSlot is over, a slot grants nothing: the work queues like any other.
    let release: () => void = () => {};
    const held = passwords.withSlot(() => new Promise<void>((resolve) => (release = resolve)));
    await expect(passwords.verify(stored, COMPOSED, spent)).rejects.toMatchObject({ code: 'overloaded' });
    release();
    await held;
  });

  it('throws 503 overloaded without running the work when no slot frees up in time', async () => {
    const passwords = new PasswordService({ argon2: CHEAP, policy: DEFAULT_PASSWORD_POLICY, concurrency: 1, queueTimeoutMs: 20 });
    let release: () => void = () => {};
    const held = passwords.withSlot(() => new Promise<void>((resolve) => (release = resolve)));
    const work = vi.fn(async () => 'ran');
    await expect(passwords.withSlot(work)).rejects.toMatchObject({ code: 'overloaded', status: 503 });
    expect(work).not.toHaveBeenCalled();
    release();
    await held;
    expect(await passwords.withSlot(work)).toBe('ran');
  });
});

describe('login with a differently composed password', () => {
  let t: TestApp;
  afterEach(async () => t.close());

  it('succeeds whichever way the client composed the characters, and upgrades a hash of the typed form on the first login', async () => {
    t = await createTestApp();
    const user = await seedUser(t, { password: COMPOSED });
    for (const typed of [COMPOSED, DECOMPOSED, FULL_WIDTH]) expect((await login(t.app, user.email, typed)).access_token).toBeTypeOf('string');

    // A hash stored before passwords were normalised: of the decomposed form as typed.
    await t.context.storage.db.updateTable('users').set({ password_hash: await hashPassword(DECOMPOSED) }).where('id', '=', user.id).execute();
    const storedHash = async () => (await t.context.storage.db.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirstOrThrow()).password_hash;
    const legacy = await storedHash();
    expect((await login(t.app, user.email, DECOMPOSED)).access_token).toBeTypeOf('string');
    expect(await storedHash()).not.toBe(legacy);
    expect((await login(t.app, user.email, COMPOSED)).access_token).toBeTypeOf('string');
  });
});
