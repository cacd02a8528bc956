import type { FastifyInstance } from 'fastify';
import { identityOf, type IdentityService } from '../../src/identity/identity-service.js';
import type { User } from '../../src/identity/user-store.js';
import type { TestApp } from '../helpers/app.js';

export const STRONG_PASSWORD = 'violet-harbour-quietly-92';
export const OTHER_PASSWORD = 'copper-lantern-evening-17';

/** The identity service of a test app. */
export function identityOfApp(testApp: TestApp): IdentityService {
  return identityOf(testApp.context);
}

/** Creates a user directly through the service (no HTTP), with the strong test password. */
export async function seedUser(testApp: TestApp, options: { email?: string; isAdmin?: boolean; password?: string } = {}): Promise<User> {
  return identityOfApp(testApp).userAdmin.create(
    { email: options.email ?? `user-${Math.random().toString(36).slice(2)}@example.test`, password: options.password ?? STRONG_PASSWORD, isAdmin: options.isAdmin === true },
    { actor: 'system', ip: undefined, userAgent: undefined },
  );
}

/** Logs in over HTTP and returns the token pair. */
export async function login(app: FastifyInstance, email: string, password = STRONG_PASSWORD): Promise<{ access_token: string; refresh_token: string; expires_in: number }> {
  const response = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password } });
  if (response.statusCode !== 200) throw new Error(`login failed: ${response.statusCode} ${response.body}`);
  return response.json();
}

/** Authorization header for a bearer token. */
export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/**
 * Holds the next password verification after it has run (the argon2 step, ~50 ms in
 * production) until `release()`: what a change that commits during a login looks like.
 */
export function holdNextVerification(identity: IdentityService): { reached: Promise<void>; release: () => void; restore: () => void } {
  const passwords = identity.passwords;
  const realVerify = passwords.verify.bind(passwords);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let reached!: () => void;
  const atVerify = new Promise<void>((resolve) => (reached = resolve));
  let first = true;
  // The login's hashing slot is passed on, so the held login keeps holding it, as a real one does.
  passwords.verify = async (stored, password, slot) => {
    const verdict = await realVerify(stored, password, slot);
    if (first) {
      first = false;
      reached();
      await gate;
    }
    return verdict;
  };
  return { reached: atVerify, release, restore: () => (passwords.verify = realVerify) };
}

/**
 * Holds the next `users.findById` after it has read the row (an update's first read), until
 * `release()`: what a change that commits while an update is on its way looks like.
 */
export function holdNextUserRead(identity: IdentityService): { reached: Promise<void>; release: () => void } {
  const users = identity.users;
  const real = users.findById.bind(users);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let reached!: () => void;
  const atRead = new Promise<void>((resolve) => (reached = resolve));
  users.findById = async (id: string): Promise<User | undefined> => {
    const found = await real(id);
    users.findById = real;
    reached();
    await gate;
    return found;
  };
  return { reached: atRead, release };
}
