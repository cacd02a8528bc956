import { afterEach, expect, it } from 'vitest';
import { createIdentityService } from '../../src/identity/identity-service.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { runCliAgainst } from '../helpers/cli.js';
import { seedUser } from './identity-helpers.js';

/**
 * A superseded signing key must stay usable until every token it signed has expired. Its
 * `retire_after` is set by whichever process rotates, from that process's own token lifetime:
 * `warden keys rotate-signing` run from a shell without the service's WARDEN_ACCESS_TOKEN_TTL
 * sets 15 min + skew. Each instance therefore keeps verifying (and publishing) a superseded key
 * until its own tokens from it have expired too.
 */
let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

it('a rotation by the CLI with default settings does not retire the old key before the service’s own tokens expire', async () => {
  t = await createTestApp({ env: { WARDEN_ACCESS_TOKEN_TTL: '3600' } });
  let clock = Date.now();
  const identity = createIdentityService(t.context, { now: () => clock });
  await identity.initialise();
  const user = await seedUser(t);
  const issued = await identity.issuer.issue({ userId: user.id, sessionId: 'session-1' });
  expect(issued.expiresIn).toBe(3600);
  expect((await identity.verifier.verify(issued.token)).valid).toBe(true);

  // The operator rotates from a shell that has the database and secret, but not the TTL.
  const rotated = await runCliAgainst({ url: t.settings.databaseUrl, dir: t.settings.dataDir }, [
    'keys',
    'rotate-signing',
  ]);
  expect(rotated.code, rotated.err.join('\n')).toBe(0);
  await identity.keys.reload();

  // 20 minutes later the token still has 40 minutes to live, and must still verify.
  clock += 20 * 60_000;
  expect(clock / 1000).toBeLessThan(issued.expiresAt);
  expect(await identity.verifier.verify(issued.token)).toMatchObject({ valid: true });
  expect(identity.keys.jwks().keys.map((k) => k.kid)).toContain(
    JSON.parse(Buffer.from(issued.token.split('.')[0] as string, 'base64url').toString()).kid,
  );
  // Once the service's own hour (plus skew) is over, the key is retired here too.
  clock += 41 * 60_000 + 60_000;
  await identity.keys.reload();
  expect(identity.keys.jwks().keys.map((k) => k.kid)).not.toContain(
    JSON.parse(Buffer.from(issued.token.split('.')[0] as string, 'base64url').toString()).kid,
  );
});
