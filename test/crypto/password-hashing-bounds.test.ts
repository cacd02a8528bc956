import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from '../../src/crypto/password-hashing.js';

// A stored hash carries its own cost parameters; an imported or tampered row must not be able
// to make one login run for minutes or allocate gigabytes. Each case must answer false at once.
const quickly = async (stored: string): Promise<boolean | 'too slow'> =>
  Promise.race([verifyPassword(stored, 'anything'), new Promise<'too slow'>((resolve) => setTimeout(() => resolve('too slow'), 1500).unref())]);

describe('verifyPassword cost bounds', () => {
  it('refuses argon2 hashes whose parameters exceed the bounds', async () => {
    const genuine = await hashPassword('anything', { memoryKib: 8, iterations: 1, parallelism: 1 });
    expect(await verifyPassword(genuine, 'anything')).toBe(true);
    const [, , , , salt, digest] = genuine.split('$');
    expect(await quickly(`$argon2id$v=19$m=8,t=400000000,p=1$${salt}$${digest}`)).toBe(false);
    expect(await quickly(`$argon2id$v=19$m=4194304,t=1,p=1$${salt}$${digest}`)).toBe(false);
  });

  it('refuses bcrypt hashes with a cost above 16', async () => {
    expect(await quickly('$2b$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW')).toBe(false);
  });

  it('refuses scrypt hashes that would need more than 1 GiB', async () => {
    expect(await quickly('scrypt:1048576:32:1$salt$00112233445566778899aabbccddeeff')).toBe(false);
  });
});
