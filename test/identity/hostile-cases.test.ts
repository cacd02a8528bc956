import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPlaintextFieldCipher } from '../../src/crypto/field-cipher.js';
import { bootstrapDevAdmin } from '../../src/identity/dev-bootstrap.js';
import { PrivateKeySealer } from '../../src/identity/private-key-sealing.js';
import { SigningKeyRing } from '../../src/identity/signing-key-ring.js';
import { createRemoteTokenVerifier } from '../../src/identity/remote-token-verifier.js';
import { KeySourceUnavailableError } from '../../src/identity/token-checks.js';
import { UserStatusCache } from '../../src/identity/user-status-cache.js';
import type { DatabaseSchema } from '../../src/storage/index.js';
import { createTestApp, TEST_SECRET_KEY, type TestApp } from '../helpers/app.js';
import { identityOfApp, login, seedUser, STRONG_PASSWORD } from './identity-helpers.js';

describe('hostile identity inputs', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(async () => t.close());

  it('treats Unicode look-alike emails (full-width, decomposed) as the same account, and logs in with either form', async () => {
    const user = await seedUser(t, { email: 'jo@example.test' });
    await expect(seedUser(t, { email: 'ｊo@example.test' })).rejects.toMatchObject({ code: 'email_taken' });
    await expect(seedUser(t, { email: 'ＪO@EXAMPLE.TEST' })).rejects.toMatchObject({ code: 'email_taken' });
    await seedUser(t, { email: 'e\u0301lise@example.test' });
    await expect(seedUser(t, { email: '\u00e9lise@example.test' })).rejects.toMatchObject({ code: 'email_taken' });
    const tokens = await login(t.app, 'ｊo@example.test');
    const me = await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(me.json()).toMatchObject({ id: user.id, email: 'jo@example.test' });
  });

  it('treats a punycode domain and its Unicode spelling as one mailbox, but keeps ß and ss apart', async () => {
    const user = await seedUser(t, { email: 'jo@bücher.example' });
    await expect(seedUser(t, { email: 'jo@xn--bcher-kva.example' })).rejects.toMatchObject({ code: 'email_taken' });
    await expect(seedUser(t, { email: 'JO@XN--BCHER-KVA.EXAMPLE' })).rejects.toMatchObject({ code: 'email_taken' });
    expect((await login(t.app, 'jo@xn--bcher-kva.example')).access_token).toBeTypeOf('string');
    expect(user.email).toBe('jo@bücher.example');
    // Different local parts are different mailboxes, whatever a case-folding would say.
    await seedUser(t, { email: 'straße@example.test' });
    expect((await seedUser(t, { email: 'strasse@example.test' })).email).toBe('strasse@example.test');
  });

  it('treats a trailing dot on the domain as the same mailbox, at creation and login', async () => {
    const user = await seedUser(t, { email: 'jo@example.test' });
    await expect(seedUser(t, { email: 'jo@example.test.' })).rejects.toMatchObject({ code: 'email_taken' });
    const tokens = await login(t.app, 'JO@example.test.');
    const me = await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(me.json()).toMatchObject({ id: user.id });
  });

  it.each([
    ['"jo"@example.test', 'email must not have a quoted local part'],
    ['j\u043e@example.test', 'email must not mix Latin letters with letters of another script in one part (many include look-alikes of Latin letters)'],
    ['jo@ex\u0430mple.test', 'email must not mix Latin letters with letters of another script in one part (many include look-alikes of Latin letters)'],
    ['jo@example.t\u03bfst', 'email must not mix Latin letters with letters of another script in one part (many include look-alikes of Latin letters)'],
    ['al\u0130ce@example.test', 'email must not put a combining mark on a Latin letter that has no precomposed form'],
  ])('refuses %s, which renders like an existing address, with a 400 naming why', async (email, detail) => {
    await seedUser(t, { email: 'jo@example.test' });
    await seedUser(t, { email: 'alice@example.test' });
    const admin = await seedUser(t, { isAdmin: true });
    const { access_token } = await login(t.app, admin.email);
    const refused = await t.app.inject({ method: 'POST', url: '/v1/users', headers: { authorization: `Bearer ${access_token}` }, payload: { email, password: STRONG_PASSWORD } });
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ code: 'validation_failed', detail });
  });

  it.each([
    ['jo@example..test', 'email must be a valid email address'],
    ['jo@.example.test', 'email must be a valid email address'],
    [`${'j'.repeat(250)}@example.test`, 'email must be at most 254 characters'],
  ])('refuses %s (an empty domain label, or over 254 characters) with a 400 saying which', async (email, detail) => {
    const admin = await seedUser(t, { isAdmin: true });
    const { access_token } = await login(t.app, admin.email);
    const refused = await t.app.inject({ method: 'POST', url: '/v1/users', headers: { authorization: `Bearer ${access_token}` }, payload: { email, password: STRONG_PASSWORD } });
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ code: 'validation_failed', field: 'email', detail });
  });

  it('accepts addresses wholly in one script, Latin with precomposed accents, or Cyrillic with a Latin-only domain', async () => {
    for (const email of ['\u0438\u0432\u0430\u043d@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444', 'ivan@example.test', 'zo\u00eb@example.test', '\u0438\u0432\u0430\u043d@example.test', '\u03b1\u03b8\u03b7\u03bd\u03ac@example.gr']) {
      expect((await seedUser(t, { email })).email).toBe(email);
    }
  });

  it('refuses emails with invisible or control characters (zero-width space, bidi override, NUL)', async () => {
    await seedUser(t, { email: 'jo@example.test' });
    for (const email of ['j\u200bo@example.test', 'jo\u202e@example.test', 'jo\u0000@example.test', 'jo@exam\u00adple.test']) {
      await expect(seedUser(t, { email })).rejects.toMatchObject({ code: 'validation_failed' });
    }
  });

  it('records the admin, not the user, as the actor of the logout that a deactivation causes', async () => {
    const admin = await seedUser(t, { isAdmin: true });
    const user = await seedUser(t);
    await login(t.app, user.email);
    const adminTokens = await login(t.app, admin.email);
    const response = await t.app.inject({
      method: 'PATCH',
      url: `/v1/users/${user.id}`,
      headers: { authorization: `Bearer ${adminTokens.access_token}` },
      payload: { is_active: false },
    });
    expect(response.statusCode).toBe(200);
    const rows = await t.context.storage.db.selectFrom('audit_events').selectAll().where('action', '=', 'auth.logout').where('entity_id', '=', user.id).execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: admin.id });
    expect(JSON.parse(String(rows[0]?.details))).toMatchObject({ all_sessions: true, sessions_revoked: 1, reason: 'user_deactivated' });
  });

  it('does not cache a user status read that raced with an invalidation (deactivation takes effect at once)', async () => {
    // A stand-in for the one query the cache makes: each call answers with the next queued row.
    const answers: Promise<{ is_active: number; is_admin: number }>[] = [];
    const db = { selectFrom: () => ({ select: () => ({ where: () => ({ executeTakeFirst: () => answers.shift() }) }) }) } as unknown as Kysely<DatabaseSchema>;
    const cache = new UserStatusCache(db, t.context.invalidation);
    let answerStale!: (row: { is_active: number; is_admin: number }) => void;
    answers.push(new Promise((resolve) => (answerStale = resolve)));
    answers.push(Promise.resolve({ is_active: 0, is_admin: 0 }));
    // The read starts before the deactivation and answers after its invalidation.
    const pending = cache.get('user-1');
    await cache.invalidate('user-1');
    answerStale({ is_active: 1, is_admin: 1 });
    expect(await pending).toMatchObject({ isActive: true });
    expect(await cache.get('user-1')).toMatchObject({ isActive: false, isAdmin: false });
    cache.close();
  });

  it('refuses a signing private key stored in clear when no encryption keyring is set', async () => {
    const sealer = new PrivateKeySealer(createPlaintextFieldCipher(TEST_SECRET_KEY), TEST_SECRET_KEY);
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true });
    const privateJwk = JSON.stringify(await exportJWK(privateKey));
    expect(() => sealer.open(privateJwk, 'planted')).toThrow(/not sealed/);
    // The ring does not take a planted row as a trusted key.
    await t.context.storage.db
      .insertInto('signing_keys')
      .values({ kid: 'planted', algorithm: 'EdDSA', public_jwk: JSON.stringify(await exportJWK(publicKey)), private_key: privateJwk, created_at: Date.now() + 1000, superseded_at: null, retire_after: null })
      .execute();
    await identityOfApp(t).keys.reload();
    expect(await identityOfApp(t).keys.find('planted')).toBeUndefined();
    expect(identityOfApp(t).keys.active().kid).not.toBe('planted');
    expect(identityOfApp(t).keys.jwks().keys.map((k) => k.kid)).not.toContain('planted');
  });

  it('verifies with the public key derived from the sealed private key, never with a swapped public_jwk column', async () => {
    const { publicKey } = await generateKeyPair('EdDSA', { extractable: true });
    const kid = identityOfApp(t).keys.active().kid;
    // Someone with write access to the table swaps in their own public key.
    await t.context.storage.db
      .updateTable('signing_keys')
      .set({ public_jwk: JSON.stringify(await exportJWK(publicKey)) })
      .where('kid', '=', kid)
      .execute();
    const reported: string[] = [];
    const fresh = new SigningKeyRing({
      db: t.context.storage.db,
      sealer: new PrivateKeySealer(t.context.fieldCipher, TEST_SECRET_KEY),
      algorithm: 'EdDSA',
      retireGraceMs: 930_000,
      now: Date.now,
      onUnreadableKey: (k) => reported.push(k),
    });
    await expect(fresh.initialise()).rejects.toThrow(/public_jwk does not match the sealed private key/);
    await fresh.reload();
    expect(reported).toEqual([kid]);
    expect(await fresh.find(kid)).toBeUndefined();
  });

  it('never creates the development admin outside the development profile', async () => {
    const staging = await createTestApp({ env: { WARDEN_ENV: 'staging' } });
    try {
      await expect(bootstrapDevAdmin(identityOfApp(staging))).rejects.toThrow(/never created in the staging profile/);
      expect(await identityOfApp(staging).users.hasAdmin()).toBe(false);
    } finally {
      await staging.close();
    }
  });
});

describe('remote verifier JWKS hardening', () => {
  let t: TestApp;
  let server: Server | undefined;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(async () => {
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
    server = undefined;
    await t.close();
  });

  it('refuses a plain-http JWKS URL on another host unless explicitly allowed', () => {
    const base = { issuer: 'warden', audience: 'warden' };
    expect(() => createRemoteTokenVerifier({ ...base, jwksUrl: 'http://auth.example.com/.well-known/jwks.json' })).toThrow(/https/);
    expect(() => createRemoteTokenVerifier({ ...base, jwksUrl: 'file:///etc/passwd' })).toThrow(/https/);
    expect(() => createRemoteTokenVerifier({ ...base, jwksUrl: 'http://auth.example.com/jwks', allowInsecureHttp: true })).not.toThrow();
    expect(() => createRemoteTokenVerifier({ ...base, jwksUrl: 'http://127.0.0.1:1/jwks' })).not.toThrow();
    expect(() => createRemoteTokenVerifier({ ...base, jwksUrl: 'https://auth.example.com/jwks' })).not.toThrow();
  });

  it('fails closed on an oversized JWKS instead of reading it all', async () => {
    const user = await seedUser(t);
    const tokens = await login(t.app, user.email);
    // The real keys, padded past the limit (no content-length: chunked, so the stream cap is what stops it).
    const body = JSON.stringify({ ...identityOfApp(t).keys.jwks(), padding: 'x'.repeat(200_000) });
    server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write(body.slice(0, 100));
      response.end(body.slice(100));
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const jwksUrl = `http://127.0.0.1:${port}/jwks`;
    const capped = createRemoteTokenVerifier({ jwksUrl, issuer: 'warden', audience: 'warden' });
    // No verdict from a key set it would not read: refused as an outage (the guard's 503).
    await expect(capped.verify(tokens.access_token)).rejects.toBeInstanceOf(KeySourceUnavailableError);
    const roomy = createRemoteTokenVerifier({ jwksUrl, issuer: 'warden', audience: 'warden', maxJwksBytes: 300_000 });
    expect(await roomy.verify(tokens.access_token)).toMatchObject({ valid: true });
  });
});
