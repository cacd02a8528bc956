import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/index.js';
import { hashPassword, MAX_ARGON2_ITERATIONS, verifyPassword } from '../../src/crypto/password-hashing.js';
import { ConfigError } from '../../src/errors/index.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';

const load = (env: Record<string, string>) =>
  loadSettings({
    env: { WARDEN_ENV: 'development', WARDEN_SECRET_KEY: TEST_SECRET_KEY, ...env },
    envFile: false,
    generateDevSecrets: false,
  });

/**
 * A stored argon2 hash is verified only within bounds (an imported row must not make one login
 * burn minutes or gigabytes). The settings accept no cost beyond them: a higher one would make
 * every new hash unverifiable, locking each user out after their next login's re-hash.
 */
describe('argon2 costs: what the settings accept verifies', () => {
  it('refuses a time cost above 16 and a memory cost above 1 GiB at start, naming the variable', () => {
    expect(() => load({ WARDEN_ARGON2_ITERATIONS: '17' })).toThrow(ConfigError);
    expect(() => load({ WARDEN_ARGON2_ITERATIONS: '17' })).toThrow(/WARDEN_ARGON2_ITERATIONS/);
    expect(() => load({ WARDEN_ARGON2_MEMORY_KIB: String(2 ** 20 + 1) })).toThrow(/WARDEN_ARGON2_MEMORY_KIB/);
    expect(() => load({ WARDEN_ARGON2_PARALLELISM: '17' })).toThrow(/WARDEN_ARGON2_PARALLELISM/);
    expect(load({ WARDEN_ARGON2_ITERATIONS: '16' }).settings.argon2Iterations).toBe(16);
  });

  it('a hash made at the highest accepted time cost verifies', async () => {
    const stored = await hashPassword('correct horse battery staple', {
      memoryKib: 19_456,
      iterations: MAX_ARGON2_ITERATIONS,
      parallelism: 1,
    });
    expect(await verifyPassword(stored, 'correct horse battery staple')).toBe(true);
  });
});
