/**
 * The dummy hash an unknown email is checked against is made once and kept. A failure making it
 * (argon2 can fail transiently, e.g. a memory allocation error) is not kept: otherwise every
 * later unknown email would answer 500 where a known one answers 401 until a restart, telling
 * accounts apart. The next unknown-email login makes it again and answers 401 like a wrong password.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type * as PasswordHashing from '../../src/crypto/password-hashing.js';

const failures = vi.hoisted(() => ({ pending: 0 }));
vi.mock('../../src/crypto/password-hashing.js', async (importOriginal) => {
  const real = await importOriginal<typeof PasswordHashing>();
  return {
    ...real,
    hashPassword: async (...args: Parameters<typeof real.hashPassword>) => {
      if (failures.pending > 0) {
        failures.pending -= 1;
        throw new Error('memory allocation failed');
      }
      return real.hashPassword(...args);
    },
  };
});

import { createTestApp, type TestApp } from '../helpers/app.js';
import { OTHER_PASSWORD, seedUser } from './identity-helpers.js';

describe('a transient failure creating the dummy hash', () => {
  let t: TestApp;
  afterEach(async () => t.close());

  it('does not make every later unknown-email login fail differently from a wrong password', async () => {
    t = await createTestApp({ env: { WARDEN_RATELIMIT_AUTH: 'off' } });
    const user = await seedUser(t, { email: 'known@example.test' });
    const attempt = (email: string, remoteAddress: string) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        remoteAddress,
        payload: { email, password: OTHER_PASSWORD },
      });

    // One transient failure, while the dummy hash is first made.
    failures.pending = 1;
    const first = await attempt('ghost-1@example.test', '198.51.100.1');
    expect(first.statusCode).toBeGreaterThanOrEqual(500);
    expect(failures.pending).toBe(0);

    // Afterwards hashing works again: an unknown email must be told exactly what a wrong password is told.
    const known = await attempt(user.email, '198.51.100.2');
    const unknown = await attempt('ghost-2@example.test', '198.51.100.3');
    expect(known.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(known.statusCode);
    expect((unknown.json() as { code: string }).code).toBe('invalid_credentials');
  });
});
