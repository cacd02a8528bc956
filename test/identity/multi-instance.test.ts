import { expect, it, vi } from 'vitest';
import { identityOf } from '../../src/identity/identity-service.js';
import { describeWithRedis } from '../helpers/redis.js';
import { useTwoInstances } from '../helpers/two-instances.js';
import { bearer, login, seedUser } from './identity-helpers.js';

describeWithRedis('revocation across two instances sharing PostgreSQL and Redis', () => {
  const instances = useTwoInstances();

  it('a logout on one instance is seen by the other on the next request', async () => {
    const { first, second } = instances;
    const user = await seedUser(first);
    const tokens = await login(first.app, user.email);
    expect((await second.verifier.verify(tokens.access_token)).valid).toBe(true);
    await first.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: bearer(tokens.access_token) });
    expect(await second.verifier.verify(tokens.access_token)).toEqual({ valid: false, code: 'token_revoked' });
  });

  it('logout-all and deactivation on one instance stop tokens on the other', async () => {
    const { first, second } = instances;
    const user = await seedUser(first);
    const tokens = await login(first.app, user.email);
    expect((await second.verifier.verify(tokens.access_token)).valid).toBe(true);
    await identityOf(first.context).userAdmin.update(user.id, { isActive: false }, { actor: 'system', ip: undefined, userAgent: undefined });
    // The denylist entry (logout-all on deactivation) is immediate; the status cache is dropped via pub/sub.
    expect(await second.verifier.verify(tokens.access_token)).toMatchObject({ valid: false });
    await vi.waitFor(async () => expect((await second.userStatus.get(user.id)).isActive).toBe(false), { timeout: 5000 });
  });
});
