import { SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createIdentityService, type IdentityService } from '../../src/identity/identity-service.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { bearer, identityOfApp, login, seedUser } from './identity-helpers.js';

/**
 * A token with an unknown `kid` costs a reload of the signing keys from the database at most
 * every 5 s, counted from the last attempt, also when that attempt failed: forged tokens with
 * fresh random kids do not turn a database outage into a read per request. While the keys
 * cannot be read, such a token is answered 503 `service_unavailable` with Retry-After (no
 * verdict on it), like the other unavailable dependencies; tokens of keys in memory still work.
 */
describe('unknown kids while the signing keys cannot be reloaded', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(async () => t.close());

  /** Makes the ring's database read fail from now on; returns how many reads were attempted. */
  const failKeyReads = (identity: IdentityService): (() => number) => {
    const ring = identity.keys as unknown as { load: () => Promise<void> };
    let attempts = 0;
    ring.load = async () => {
      attempts += 1;
      throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    };
    return () => attempts;
  };
  const forgedWithKid = (identity: IdentityService, kid: string): Promise<string> =>
    new SignJWT({}).setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' }).sign(identity.keys.active().privateKey);

  it('tries the database at most once per 5 s however many unknown kids arrive, also when that read fails', async () => {
    let clock = Date.UTC(2026, 10, 23, 10, 0, 0);
    const identity = createIdentityService(t.context, { now: () => clock });
    await identity.initialise();
    const realLoad = (identity.keys as unknown as { load: unknown }).load;
    const attempts = failKeyReads(identity);
    clock += 10_000; // the last successful load is long past: the next miss may read once
    for (let i = 0; i < 20; i++) {
      await identity.verifier.verify(await forgedWithKid(identity, `random-kid-${i}`)).catch(() => undefined);
      clock += 100; // 2 s in all: still inside one 5 s window
    }
    expect(attempts()).toBe(1);
    // Each of them was refused as an outage, not as an unknown kid.
    await expect(identity.verifier.verify(await forgedWithKid(identity, 'one-more'))).rejects.toMatchObject({ code: 'service_unavailable' });
    // Once the window has passed, the next miss tries again.
    clock += 5_000;
    await expect(identity.verifier.verify(await forgedWithKid(identity, 'after-the-window'))).rejects.toMatchObject({ code: 'service_unavailable' });
    expect(attempts()).toBe(2);
    // A reload that succeeds meanwhile (the periodic one) ends the outage at once: an unknown
    // kid is a verdict again, not a 503.
    (identity.keys as unknown as { load: unknown }).load = realLoad;
    await identity.keys.reload();
    expect(await identity.verifier.verify(await forgedWithKid(identity, 'after-recovery'))).toMatchObject({ valid: false, code: 'token_unknown_kid' });
  });

  it('answers an unknown kid that cannot be looked up with 503 service_unavailable and Retry-After, not 500', async () => {
    const user = await seedUser(t);
    const genuine = (await login(t.app, user.email)).access_token;
    const identity = identityOfApp(t);
    failKeyReads(identity);
    (identity.keys as unknown as { lastLoadAt: number }).lastLoadAt = 0;
    const response = await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(await forgedWithKid(identity, 'random-kid')) });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ code: 'service_unavailable' });
    expect(response.headers['retry-after']).toBeDefined();
    // Tokens of keys in memory keep working meanwhile.
    expect((await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: bearer(genuine) })).statusCode).toBe(200);
  });
});
