import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { installErrorHandlers } from '../../src/http/error-handler.js';
import { authenticate, authGuard, type Authenticator, type Authorizer } from '../../src/http/auth-guard.js';
import type { Principal } from '../../src/http/principal.js';
import { WardenError } from '../../src/errors/index.js';

const alice: Principal = { kind: 'user', subject: 'alice', permissions: [], credentialId: 'c1' };

/** An authenticator that claims requests carrying `x-user: alice`, answering synchronously. */
const syncAuthenticator: Authenticator = (request) => (request.headers['x-user'] === 'alice' ? alice : undefined);

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** An app with one route needing `reports:read` and one needing only a credential. */
async function guardedApp(authenticators: Authenticator[], authorize: Authorizer): Promise<{ app: FastifyInstance; logged: string[] }> {
  const logged: string[] = [];
  const instance = Fastify({ logger: { level: 'error', stream: { write: (line: string) => logged.push(line) } } });
  installErrorHandlers(instance, () => []);
  await instance.register(authGuard, { authenticators, authorize });
  instance.get('/reports', { config: { permission: 'reports:read' } }, async (request) => ({ subject: request.principal?.subject }));
  instance.get('/me', { config: { permission: 'authenticated' } }, async (request) => ({ subject: request.principal?.subject }));
  app = instance;
  return { app: instance, logged };
}

describe('the auth guard', () => {
  it('admits a request whose authenticator and authorizer answer synchronously, with the principal set', async () => {
    const asked: string[] = [];
    const { app } = await guardedApp([syncAuthenticator], (principal, permission) => {
      asked.push(`${principal.subject} ${permission}`);
      return true;
    });
    const res = await app.inject({ url: '/reports', headers: { 'x-user': 'alice' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ subject: 'alice' });
    expect(asked).toEqual(['alice reports:read']);
  });

  it('passes a request with synchronous answers within the same tick: no promise, no microtask in between', async () => {
    const { app } = await guardedApp([syncAuthenticator], () => true);
    let queued = 'pending';
    app.get(
      '/tick',
      {
        config: { permission: 'reports:read' },
        // Runs after the guard (which is put first): a microtask queued before the guard has
        // run only if the guard went through a promise.
        onRequest: (_request, _reply, done) => {
          done(queued === 'pending' ? undefined : new Error('the guard waited for a microtask'));
        },
      },
      async () => ({ ok: true }),
    );
    app.addHook('onRequest', (_request, _reply, done) => {
      queued = 'pending';
      queueMicrotask(() => (queued = 'ran'));
      done();
    });
    const res = await app.inject({ url: '/tick', headers: { 'x-user': 'alice' } });
    expect(res.statusCode).toBe(200);
  });

  it('admits with asynchronous answers just the same', async () => {
    const { app } = await guardedApp([async (request) => syncAuthenticator(request)], async () => true);
    const res = await app.inject({ url: '/reports', headers: { 'x-user': 'alice' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ subject: 'alice' });
  });

  it('refuses with 403 when the authorizer says no, synchronously or not', async () => {
    for (const authorize of [() => false, async () => false] satisfies Authorizer[]) {
      const { app: guarded } = await guardedApp([syncAuthenticator], authorize);
      const res = await guarded.inject({ url: '/reports', headers: { 'x-user': 'alice' } });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ code: 'forbidden' });
      await guarded.close();
    }
  });

  it('denies (403, logged) when the authorizer throws or rejects: an error never admits', async () => {
    const failures: Authorizer[] = [
      () => {
        throw new Error('role table unreadable');
      },
      () => Promise.reject(new Error('role table unreadable')),
    ];
    for (const authorize of failures) {
      const { app: guarded, logged } = await guardedApp([syncAuthenticator], authorize);
      const res = await guarded.inject({ url: '/reports', headers: { 'x-user': 'alice' } });
      expect(res.statusCode).toBe(403);
      expect(logged.join('')).toContain('authorization check failed; denying');
      await guarded.close();
    }
  });

  it('answers 401 with the authenticator\'s own error when it throws synchronously or rejects', async () => {
    const refusals: Authenticator[] = [
      () => {
        throw new WardenError('token_expired');
      },
      () => Promise.reject(new WardenError('token_expired')),
    ];
    for (const refuse of refusals) {
      const { app: guarded } = await guardedApp([refuse], () => true);
      const res = await guarded.inject({ url: '/reports', headers: { 'x-user': 'alice' } });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ code: 'token_expired' });
      await guarded.close();
    }
  });

  it('asks the next authenticator when one does not recognise the credential, and answers 401 token_missing when none does', async () => {
    const { app } = await guardedApp([() => undefined, async () => undefined, syncAuthenticator], () => true);
    expect((await app.inject({ url: '/reports', headers: { 'x-user': 'alice' } })).statusCode).toBe(200);
    const res = await app.inject({ url: '/reports', headers: { 'x-user': 'mallory' } });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 'token_missing' });
    expect(res.headers['www-authenticate']).toBe('Bearer realm="warden"');
  });

  it('adopts a thenable that is not a native promise', async () => {
    const thenable: Authenticator = () => ({ then: (resolve: (p: Principal) => void) => resolve(alice) }) as unknown as Promise<Principal>;
    const { app } = await guardedApp([thenable], () => true);
    const res = await app.inject({ url: '/reports' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ subject: 'alice' });
  });

  it('lets an `authenticated` route through on any credential, without asking the authorizer', async () => {
    const { app } = await guardedApp([syncAuthenticator], () => {
      throw new Error('must not be asked');
    });
    const res = await app.inject({ url: '/me', headers: { 'x-user': 'alice' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ subject: 'alice' });
  });
});

describe('authenticate()', () => {
  it('always returns a promise, and rejects rather than throwing, whatever the authenticators do', async () => {
    const request = { headers: { 'x-user': 'alice' } } as never;
    const answer = authenticate(request, [syncAuthenticator]);
    expect(answer).toBeInstanceOf(Promise);
    await expect(answer).resolves.toBe(alice);
    const none = authenticate({ headers: {} } as never, [syncAuthenticator]);
    expect(none).toBeInstanceOf(Promise);
    await expect(none).rejects.toMatchObject({ code: 'token_missing' });
  });
});
