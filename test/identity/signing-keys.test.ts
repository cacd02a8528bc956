import { afterEach, beforeEach, expect, it } from 'vitest';
import { createIdentityService, type IdentityService } from '../../src/identity/identity-service.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { seedUser } from './identity-helpers.js';

describeEachDatabase('signing-key rotation', (dialect) => {
  let t: TestApp;
  let clock: number;
  let identity: IdentityService;
  beforeEach(async () => {
    t = await createTestApp({ dialect });
    clock = Date.UTC(2026, 10, 23, 10, 0, 0);
    identity = createIdentityService(t.context, { now: () => clock });
    await identity.initialise();
  });
  afterEach(async () => t.close());

  it('keeps the old key published and verifying until its tokens expired, then retires it', async () => {
    const userId = (await seedUser(t)).id;
    const oldKid = identity.keys.active().kid;
    const oldToken = (await identity.issuer.issue({ userId, sessionId: 's' })).token;
    const rotated = await identity.keys.rotate();
    expect(rotated.superseded).toEqual([oldKid]);
    expect(identity.keys.active().kid).toBe(rotated.kid);
    expect(identity.keys.jwks().keys.map((k) => k.kid).sort()).toEqual([oldKid, rotated.kid].sort());
    const newToken = (await identity.issuer.issue({ userId, sessionId: 's' })).token;
    expect(JSON.parse(Buffer.from(newToken.split('.')[0] ?? '', 'base64url').toString()).kid).toBe(rotated.kid);
    expect((await identity.verifier.verify(oldToken)).valid).toBe(true);
    // Past the access-token lifetime plus skew, the old key is gone from the JWKS and from verification.
    clock += (900 + 30) * 1000 + 1;
    expect(identity.keys.jwks().keys.map((k) => k.kid)).toEqual([rotated.kid]);
    expect(await identity.verifier.verify(oldToken)).toMatchObject({ valid: false });
    // The next rotation deletes the retired row.
    const again = await identity.keys.rotate();
    expect(again.retired).toEqual([oldKid]);
  });

  it('stores private keys sealed and reloads them on another instance', async () => {
    const rows = await t.context.storage.db.selectFrom('signing_keys').selectAll().execute();
    for (const row of rows) expect(row.private_key).toMatch(/^(wsk1|wenc1)\./);
    const other = createIdentityService(t.context, { now: () => clock });
    await other.initialise();
    const userId = (await seedUser(t)).id;
    const token = (await identity.issuer.issue({ userId, sessionId: 's' })).token;
    expect((await other.verifier.verify(token)).valid).toBe(true);
  });
});
