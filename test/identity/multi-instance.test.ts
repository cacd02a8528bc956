import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { identityOf, type IdentityService } from '../../src/identity/identity-service.js';
import type { AppContext } from '../../src/server/app-context.js';
import { closeContext, createContext } from '../../src/server/create-context.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createTestRedis, describeWithRedis, type TestRedis } from '../helpers/redis.js';
import { bearer, login, seedUser } from './identity-helpers.js';

describeWithRedis('revocation across two instances sharing PostgreSQL and Redis', () => {
  let redis: TestRedis;
  let first: TestApp;
  let secondContext: AppContext;
  let second: IdentityService;
  beforeEach(async () => {
    redis = await createTestRedis();
    first = await createTestApp({ dialect: 'postgres', env: { WARDEN_REDIS_URL: redis.url, WARDEN_REDIS_KEY_PREFIX: redis.prefix } });
    secondContext = createContext(first.settings, { logStream: { write: () => true } as never });
    second = identityOf(secondContext);
    await second.initialise();
  });
  afterEach(async () => {
    await closeContext(secondContext);
    await first.close();
    await redis.cleanup();
  });

  it('a logout on one instance is seen by the other on the next request', async () => {
    const user = await seedUser(first);
    const tokens = await login(first.app, user.email);
    expect((await second.verifier.verify(tokens.access_token)).valid).toBe(true);
    await first.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(tokens.access_token) });
    expect(await second.verifier.verify(tokens.access_token)).toEqual({ valid: false, code: 'token_revoked' });
  });

  it('logout-all and deactivation on one instance stop tokens on the other', async () => {
    const user = await seedUser(first);
    const tokens = await login(first.app, user.email);
    expect((await second.verifier.verify(tokens.access_token)).valid).toBe(true);
    await identityOf(first.context).userAdmin.update(user.id, { isActive: false }, { actor: 'system', ip: undefined, userAgent: undefined });
    // The denylist entry (logout-all on deactivation) is immediate; the status cache is dropped via pub/sub.
    expect(await second.verifier.verify(tokens.access_token)).toMatchObject({ valid: false });
    await vi.waitFor(async () => expect((await second.userStatus.get(user.id)).isActive).toBe(false), { timeout: 5000 });
  });
});
