import { afterEach, beforeEach, expect, it } from 'vitest';
import { identityOf } from '../../src/identity/identity-service.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { runCliAgainst } from '../helpers/cli.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { login, seedUser } from './identity-helpers.js';

/**
 * The configured algorithm (WARDEN_JWT_ALGORITHM) is the only one an instance accepts. A shell
 * or an instance started with another value must not take signing away from the running ones:
 * only `warden keys rotate-signing --change-algorithm` switches, on purpose.
 */
describeEachDatabase('signing keys when WARDEN_JWT_ALGORITHM differs between processes', (dialect) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp({ dialect, env: { WARDEN_JWT_ALGORITHM: 'RS256' } });
  });
  afterEach(async () => t.close());

  const database = () => ({ url: t.settings.databaseUrl, dir: t.settings.dataDir });
  const currentKeys = () => t.context.storage.db.selectFrom('signing_keys').select(['kid', 'algorithm', 'superseded_at']).where('superseded_at', 'is', null).execute();

  it('a CLI command run with another (or the default) algorithm changes no signing key', async () => {
    const before = await currentKeys();
    expect(before.map((k) => k.algorithm)).toEqual(['RS256']);
    const listed = await runCliAgainst(database(), ['roles', 'list'], { env: { WARDEN_JWT_ALGORITHM: 'EdDSA' } });
    expect(listed.code, listed.err.join('\n')).toBe(0);
    expect(await currentKeys()).toEqual(before);
    // The service still signs and logs users in.
    await seedUser(t, { email: 'after-cli@example.test' });
    expect((await login(t.app, 'after-cli@example.test')).access_token).toBeTruthy();
  });

  it('rotate-signing refuses to switch the algorithm unless asked to (exit 78), and changes nothing', async () => {
    const before = await currentKeys();
    const refused = await runCliAgainst(database(), ['keys', 'rotate-signing'], { env: { WARDEN_JWT_ALGORITHM: 'EdDSA' } });
    expect(refused.code).toBe(78);
    expect(refused.err.join('\n')).toContain('the current signing key is RS256 but WARDEN_JWT_ALGORITHM is EdDSA');
    expect(await currentKeys()).toEqual(before);
    // Same algorithm: an ordinary rotation.
    expect((await runCliAgainst(database(), ['keys', 'rotate-signing'], { env: { WARDEN_JWT_ALGORITHM: 'RS256' } })).code).toBe(0);
  });

  it('after a deliberate switch, a running instance of the old algorithm keeps signing with its key until restarted; one started with the old value is refused', async () => {
    await seedUser(t, { email: 'switch@example.test' });
    const switched = await runCliAgainst(database(), ['keys', 'rotate-signing', '--change-algorithm'], { env: { WARDEN_JWT_ALGORITHM: 'EdDSA' } });
    expect(switched.code, switched.err.join('\n')).toBe(0);
    expect((await currentKeys()).map((k) => k.algorithm)).toEqual(['EdDSA']);
    // The running RS256 instance hears of it (or reloads) and keeps its RS256 key: logins work.
    await identityOf(t.context).keys.reload();
    expect(identityOf(t.context).keys.active().algorithm).toBe('RS256');
    const tokens = await login(t.app, 'switch@example.test');
    expect((await t.app.inject({ url: '/v1/auth/me', headers: { authorization: `Bearer ${tokens.access_token}` } })).statusCode).toBe(200);
    // A new instance still configured for RS256 does not rotate the EdDSA key away: it refuses to start.
    await expect(createTestApp({ dialect, env: { WARDEN_JWT_ALGORITHM: 'RS256', WARDEN_DATABASE_URL: t.settings.databaseUrl } })).rejects.toThrow(
      /WARDEN_JWT_ALGORITHM is RS256, but the current signing key is EdDSA/,
    );
    expect((await currentKeys()).map((k) => k.algorithm)).toEqual(['EdDSA']);
  });
});
