import { exportJWK, generateKeyPair } from 'jose';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { ConfigError } from '../../src/errors/index.js';
import { createIdentityService, type IdentityService } from '../../src/identity/identity-service.js';
import { PrivateKeySealer } from '../../src/identity/private-key-sealing.js';
import { SigningKeyRing } from '../../src/identity/signing-key-ring.js';
import { createTestApp, TEST_SECRET_KEY, type TestApp } from '../helpers/app.js';
import { runWarden } from '../helpers/cli.js';
import { createTestRedis, describeWithRedis } from '../helpers/redis.js';
import { createTestDatabase, describeEachDatabase } from '../helpers/databases.js';
import { login, seedUser } from './identity-helpers.js';
import { instrumentedDb } from '../authz/fixtures.js';

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
    // Still there one token lifetime plus skew later: an instance that has not reloaded yet
    // (up to the 30 s reload interval) may have signed with it right after the rotation.
    clock += (900 + 30) * 1000 + 1;
    expect(identity.keys.jwks().keys.map((k) => k.kid).sort()).toEqual([oldKid, rotated.kid].sort());
    // Past that, the old key is gone from the JWKS and from verification.
    clock += 30 * 1000;
    expect(identity.keys.jwks().keys.map((k) => k.kid)).toEqual([rotated.kid]);
    expect(await identity.verifier.verify(oldToken)).toMatchObject({ valid: false });
    // The next rotation deletes the retired row.
    const again = await identity.keys.rotate();
    expect(again.retired).toEqual([oldKid]);
  });

  const kidOf = (token: string): string => (JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()) as { kid: string }).kid;

  it('a rotation is used at once by another instance on the same bus: it signs with the new key and publishes it', async () => {
    const other = createIdentityService(t.context, { now: () => clock });
    await other.initialise();
    const oldKid = other.keys.active().kid;
    const rotated = await identity.keys.rotate();
    await vi.waitFor(() => expect(other.keys.active().kid).toBe(rotated.kid), { timeout: 2000, interval: 5 });
    expect(other.keys.jwks().keys.map((k) => k.kid).sort()).toEqual([oldKid, rotated.kid].sort());
    const userId = (await seedUser(t)).id;
    expect(kidOf((await other.issuer.issue({ userId, sessionId: 's' })).token)).toBe(rotated.kid);
  });

  it('without an announcement (another bus, a lost message), another instance picks a rotation up at its periodic reload', async () => {
    const sealer = new PrivateKeySealer(t.context.fieldCipher, t.settings.secretKey ?? '');
    const ring = new SigningKeyRing({ db: t.context.storage.db, sealer, algorithm: 'EdDSA', retireGraceMs: 930_000, now: () => clock, reloadIntervalMs: 50 });
    await ring.initialise();
    try {
      const rotated = await identity.keys.rotate();
      await vi.waitFor(() => expect(ring.active().kid).toBe(rotated.kid), { timeout: 2000, interval: 10 });
    } finally {
      ring.close();
    }
  });

  // Staged on PostgreSQL: SQLite's single connection cannot rotate while the read is held.
  it.runIf(dialect === 'postgres')('a rotation announced while a reload is reading the keys is still picked up (the reload runs once more)', async () => {
    const staged = instrumentedDb(t.context.storage.db);
    const sealer = new PrivateKeySealer(t.context.fieldCipher, t.settings.secretKey ?? '');
    const ring = new SigningKeyRing({ db: staged.db, sealer, algorithm: 'EdDSA', retireGraceMs: 930_000, now: () => clock, invalidation: t.context.invalidation, reloadIntervalMs: 0 });
    await ring.initialise();
    try {
      const held = staged.holdNextFrom('signing_keys');
      const reading = ring.reload(); // e.g. the periodic reload, reading before the rotation
      await held;
      const rotated = await identity.keys.rotate(); // announced while that read is held
      staged.release();
      await reading;
      await vi.waitFor(() => expect(ring.active().kid).toBe(rotated.kid), { timeout: 2000, interval: 10 });
    } finally {
      ring.close();
    }
  });

  it('a token of a key rotated elsewhere that arrives while the reload bringing that key is running waits for it, not refused', async () => {
    const staged = instrumentedDb(t.context.storage.db);
    const sealer = new PrivateKeySealer(t.context.fieldCipher, t.settings.secretKey ?? '');
    const ring = new SigningKeyRing({ db: staged.db, sealer, algorithm: 'EdDSA', retireGraceMs: 930_000, now: () => clock, reloadIntervalMs: 0 });
    await ring.initialise(); // loaded just now: a miss alone would not reload for 5 s
    try {
      const rotated = await identity.keys.rotate(); // committed; its announcement starts a reload here
      const held = staged.holdNextFrom('signing_keys');
      const reading = ring.reload();
      await held;
      const finding = ring.find(rotated.kid); // a token the rotating instance already signed
      staged.release();
      await reading;
      expect(await finding).toMatchObject({ kid: rotated.kid });
    } finally {
      ring.close();
    }
  });

  it('--retire-previous (a leaked key): tokens of the old key stop verifying at once, here and on the other instance', async () => {
    const other = createIdentityService(t.context, { now: () => clock });
    await other.initialise();
    const userId = (await seedUser(t)).id;
    const oldKid = identity.keys.active().kid;
    const oldToken = (await identity.issuer.issue({ userId, sessionId: 's' })).token;
    expect((await other.verifier.verify(oldToken)).valid).toBe(true); // cached as verified there
    const rotated = await identity.keys.rotate({ retirePrevious: true });
    expect(rotated.retired).toEqual([oldKid]);
    expect(await identity.verifier.verify(oldToken)).toEqual({ valid: false, code: 'token_unknown_kid' });
    await vi.waitFor(async () => expect(await other.verifier.verify(oldToken)).toEqual({ valid: false, code: 'token_unknown_kid' }), { timeout: 2000, interval: 5 });
    expect(other.keys.jwks().keys.map((k) => k.kid)).toEqual([rotated.kid]);
    expect(await t.context.storage.db.selectFrom('signing_keys').select('kid').execute()).toEqual([{ kid: rotated.kid }]);
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

  // Sealed under another root secret: what an instance configured with other secrets writes.
  const foreignSealer = (): PrivateKeySealer => new PrivateKeySealer(t.context.fieldCipher, 'a-different-root-secret-of-forty-or-more-characters-0123');

  async function insertForeignKey(algorithm: 'EdDSA' | 'HS256', kid: string): Promise<void> {
    const pair = await generateKeyPair('EdDSA', { extractable: true });
    await t.context.storage.db
      .insertInto('signing_keys')
      .values({
        kid,
        algorithm,
        public_jwk: algorithm === 'HS256' ? null : JSON.stringify(await exportJWK(pair.publicKey)),
        private_key: foreignSealer().seal(JSON.stringify(await exportJWK(pair.privateKey)), kid),
        created_at: clock - 1000,
        superseded_at: clock - 1000,
        retire_after: clock + 60_000,
      })
      .execute();
  }

  it('refuses to start when a stored key cannot be unsealed with this instance’s secrets, naming the key', async () => {
    const ring = new SigningKeyRing({ db: t.context.storage.db, sealer: foreignSealer(), algorithm: 'EdDSA', retireGraceMs: 930_000, now: () => clock });
    const kid = identity.keys.active().kid;
    const failure = await ring.initialise().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(ConfigError);
    expect(String((failure as Error).message)).toContain(`signing key ${kid} cannot be unsealed`);
    expect(String((failure as Error).message)).toContain('WARDEN_SECRET_KEY');
    // It did not rotate in a key of its own.
    expect(await t.context.storage.db.selectFrom('signing_keys').select('kid').execute()).toHaveLength(1);
  });

  it('never quotes what it unsealed when that is not a key (the text is key material)', async () => {
    const sealer = new PrivateKeySealer(t.context.fieldCipher, t.settings.secretKey ?? '');
    await t.context.storage.db
      .insertInto('signing_keys')
      .values({ kid: 'garbled', algorithm: 'EdDSA', public_jwk: null, private_key: sealer.seal('SECRET-KEY-MATERIAL', 'garbled'), created_at: clock, superseded_at: null, retire_after: null })
      .execute();
    const ring = new SigningKeyRing({ db: t.context.storage.db, sealer, algorithm: 'EdDSA', retireGraceMs: 930_000, now: () => clock });
    const failure = (await ring.initialise().then(
      () => undefined,
      (error: unknown) => error,
    )) as Error;
    expect(failure.message).toContain("signing key garbled cannot be unsealed");
    expect(failure.message).not.toContain('SECRET-KEY-MATERIAL');
  });

  it('after start, an unreadable key is skipped and reported once, and never makes checks throw', async () => {
    const reported: string[] = [];
    const ring = new SigningKeyRing({
      db: t.context.storage.db,
      sealer: new PrivateKeySealer(t.context.fieldCipher, t.settings.secretKey ?? ''),
      algorithm: 'EdDSA',
      retireGraceMs: 930_000,
      now: () => clock,
      onUnreadableKey: (kid) => reported.push(kid),
    });
    await ring.initialise();
    const active = ring.active().kid;
    await insertForeignKey('EdDSA', 'foreign-eddsa');
    await insertForeignKey('HS256', 'foreign-hs256');
    await ring.reload();
    await ring.reload();
    expect(reported.sort()).toEqual(['foreign-eddsa', 'foreign-hs256']);
    expect(ring.active().kid).toBe(active);
    // Its public_jwk column is not trusted on its own: nothing authenticates it.
    expect(await ring.find('foreign-eddsa')).toBeUndefined();
    expect(ring.jwks().keys.map((k) => k.kid)).not.toContain('foreign-eddsa');
    expect(await ring.find('foreign-hs256')).toBeUndefined();

    // Through the verifier: a token naming an unreadable key is refused with a code.
    const userId = (await seedUser(t)).id;
    const token = (await identity.issuer.issue({ userId, sessionId: 's' })).token;
    const [header = '', ...rest] = token.split('.');
    const foreignHeader = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(header, 'base64url').toString()), kid: 'foreign-hs256' })).toString('base64url');
    clock += 5001; // past the reload throttle, so the unknown kid triggers a reload
    expect(await identity.verifier.verify([foreignHeader, ...rest].join('.'))).toEqual({ valid: false, code: 'token_unknown_kid' });
    expect((await identity.verifier.verify(token)).valid).toBe(true);
  });
});

describeWithRedis('signing-key rotation by the CLI while the service runs', () => {
  it('the running service signs with the new key and publishes it as soon as `warden keys rotate-signing` returns', async () => {
    const database = await createTestDatabase('postgres');
    const redis = await createTestRedis();
    const env = { WARDEN_DATABASE_URL: database.url, WARDEN_REDIS_URL: redis.url, WARDEN_REDIS_KEY_PREFIX: redis.prefix };
    const t = await createTestApp({ dialect: 'postgres', env });
    try {
      await t.context.invalidation.whenSubscribed(5000);
      await seedUser(t, { email: 'rotate@example.test' });
      const before = await login(t.app, 'rotate@example.test');
      const result = await runWarden(['keys', 'rotate-signing', '--retire-previous'], { env: { ...env, WARDEN_SECRET_KEY: TEST_SECRET_KEY, WARDEN_LOG_LEVEL: 'silent' } });
      expect(result.code, result.stderr).toBe(0);
      const kid = /new signing key (\S+)/.exec(result.stdout)?.[1];
      expect(kid).toBeDefined();
      await vi.waitFor(
        async () => {
          const jwks = (await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json<{ keys: { kid: string }[] }>();
          expect(jwks.keys.map((k) => k.kid)).toEqual([kid]);
        },
        { timeout: 3000, interval: 20 },
      );
      const after = await login(t.app, 'rotate@example.test');
      expect((JSON.parse(Buffer.from(after.access_token.split('.')[0] ?? '', 'base64url').toString()) as { kid: string }).kid).toBe(kid);
      // The retired key's token is refused by the running service.
      const me = await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { authorization: `Bearer ${before.access_token}` } });
      expect(me.statusCode).toBe(401);
    } finally {
      await t.close();
      await redis.cleanup();
      await database.cleanup();
    }
  });
});
