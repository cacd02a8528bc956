import { generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createIdentityService, type IdentityService } from '../../src/identity/identity-service.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { seedUser } from './identity-helpers.js';

const START = Date.UTC(2026, 10, 23, 10, 0, 0);

describe('access-token verification rejects each bad token with its own code', () => {
  let t: TestApp;
  let clock: number;
  let identity: IdentityService;
  let userId: string;
  let valid: string;

  beforeEach(async () => {
    t = await createTestApp();
    clock = START;
    identity = createIdentityService(t.context, { now: () => clock });
    await identity.initialise();
    userId = (await seedUser(t)).id;
    valid = (await identity.issuer.issue({ userId, sessionId: 'session-1' })).token;
  });
  afterEach(async () => t.close());

  /** Signs with the real active private key, so only the claim under test is wrong. */
  const signWithRealKey = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) => {
    const key = identity.keys.active();
    const now = Math.floor(clock / 1000);
    const payload = { sid: 's', iss: 'warden', aud: 'warden', sub: userId, iat: now, nbf: now, exp: now + 600, jti: 'jti-under-test', ...claims };
    return new SignJWT(payload).setProtectedHeader({ alg: key.algorithm, kid: key.kid, typ: 'at+jwt', ...header }).sign(key.privateKey);
  };
  const codeOf = async (token: string) => {
    const result = await identity.verifier.verify(token);
    return result.valid ? 'valid' : result.code;
  };

  it('accepts a freshly issued token and exposes its claims', async () => {
    const result = await identity.verifier.verify(valid);
    expect(result).toMatchObject({ valid: true, claims: { sub: userId, sid: 'session-1' } });
  });

  it('rejects alg: none', async () => {
    const unsecured = new UnsecuredJWT({ sub: userId, jti: 'x' }).setIssuer('warden').setAudience('warden').setIssuedAt().setExpirationTime('5m').encode();
    expect(await codeOf(unsecured)).toBe('token_algorithm_not_allowed');
  });

  it('rejects HS256 signed with the public key (algorithm confusion)', async () => {
    const publicJwk = identity.keys.jwks().keys[0];
    const secret = new TextEncoder().encode(JSON.stringify(publicJwk));
    const forged = await new SignJWT({ sub: userId, jti: 'x' })
      .setProtectedHeader({ alg: 'HS256', kid: identity.keys.active().kid, typ: 'at+jwt' })
      .setIssuer('warden')
      .setAudience('warden')
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime('5m')
      .sign(secret);
    expect(await codeOf(forged)).toBe('token_algorithm_not_allowed');
  });

  it('rejects an algorithm other than the configured one (ES256 when EdDSA is configured)', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: identity.keys.active().kid, typ: 'at+jwt' }).setSubject(userId).sign(privateKey);
    expect(await codeOf(token)).toBe('token_algorithm_not_allowed');
  });

  it('rejects a wrong issuer and a wrong audience', async () => {
    expect(await codeOf(await signWithRealKey({ iss: 'https://evil.example' }))).toBe('token_invalid_claims');
    expect(await codeOf(await signWithRealKey({ aud: 'another-api' }))).toBe('token_invalid_claims');
  });

  it('rejects a token without the access-token typ', async () => {
    expect(await codeOf(await signWithRealKey({}, { typ: 'JWT' }))).toBe('token_invalid_claims');
  });

  it('rejects an expired token, but tolerates the configured clock skew', async () => {
    clock = START + 900_000 + 20_000; // 20 s past exp, skew is 30 s
    expect(await codeOf(valid)).toBe('valid');
    clock = START + 900_000 + 31_000;
    expect(await codeOf(valid)).toBe('token_expired');
  });

  it('rejects a token that is not yet valid (nbf beyond the skew)', async () => {
    const future = Math.floor(clock / 1000) + 120;
    expect(await codeOf(await signWithRealKey({ nbf: future }))).toBe('token_not_yet_valid');
  });

  it('rejects an unknown kid', async () => {
    expect(await codeOf(await signWithRealKey({}, { kid: 'no-such-key' }))).toBe('token_unknown_kid');
    const noKid = await signWithRealKey({}, { kid: undefined });
    expect(await codeOf(noKid)).toBe('token_unknown_kid');
  });

  it('rejects a tampered payload', async () => {
    const [header, payload, signature] = valid.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const tampered = Buffer.from(JSON.stringify({ ...claims, scope: '*' })).toString('base64url');
    expect(await codeOf(`${header}.${tampered}.${signature}`)).toBe('token_invalid_signature');
  });

  it('rejects a tampered signature', async () => {
    const [header, payload, signature] = valid.split('.') as [string, string, string];
    const middle = Math.floor(signature.length / 2);
    const flipped = signature.slice(0, middle) + (signature[middle] === 'A' ? 'B' : 'A') + signature.slice(middle + 1);
    expect(await codeOf(`${header}.${payload}.${flipped}`)).toBe('token_invalid_signature');
  });

  it('rejects a token signed by another key under the real kid', async () => {
    const { privateKey } = await generateKeyPair('EdDSA');
    const token = await new SignJWT({ sid: 's' })
      .setProtectedHeader({ alg: 'EdDSA', kid: identity.keys.active().kid, typ: 'at+jwt' })
      .setIssuer('warden')
      .setAudience('warden')
      .setSubject(userId)
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime('5m')
      .setJti('j')
      .sign(privateKey);
    expect(await codeOf(token)).toBe('token_invalid_signature');
  });

  it('rejects a token over the size limit before parsing it', async () => {
    expect(await codeOf(await signWithRealKey({ padding: 'x'.repeat(9000) }))).toBe('token_too_large');
  });

  it('rejects malformed tokens', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: identity.keys.active().kid, typ: 'at+jwt' })).toString('base64url');
    expect(await codeOf(`${header}.not-json-at-all.c2ln`)).toBe('token_malformed');
    expect(await codeOf('eyJub3QganNvbg.e30.c2ln')).toBe('token_malformed');
    expect(await codeOf('eyJ.only-two')).toBe('token_malformed');
  });

  it('checks a token with a rewritten header in full, even when the original is in the verified cache', async () => {
    expect(await codeOf(valid)).toBe('valid'); // now cached
    const [, payload, signature] = valid.split('.') as [string, string, string];
    const none = Buffer.from(JSON.stringify({ alg: 'none', kid: identity.keys.active().kid, typ: 'at+jwt' })).toString('base64url');
    expect(await codeOf(`${none}.${payload}.${signature}`)).toBe('token_algorithm_not_allowed');
    expect(await codeOf(`${none}.${payload}.`)).toBe('token_algorithm_not_allowed');
    const unknownKid = Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: 'not-a-key', typ: 'at+jwt' })).toString('base64url');
    expect(await codeOf(`${unknownKid}.${payload}.${signature}`)).toBe('token_unknown_kid');
    expect(await codeOf(valid)).toBe('valid');
  });

  it('refuses a cached token once its signing key is gone from the key ring', async () => {
    expect(await codeOf(valid)).toBe('valid'); // now cached
    const kid = identity.keys.active().kid;
    const find = identity.keys.find.bind(identity.keys);
    identity.keys.find = async (wanted: string) => (wanted === kid ? undefined : find(wanted));
    expect(await codeOf(valid)).toBe('token_unknown_kid');
  });

  it('rejects a revoked jti, also when the token is already in the verified cache', async () => {
    expect(await codeOf(valid)).toBe('valid'); // now cached
    const claims = (await identity.verifier.verify(valid)) as { valid: true; claims: { jti: string; exp: number } };
    await identity.revocations.revokeToken(claims.claims.jti, claims.claims.exp * 1000);
    expect(await codeOf(valid)).toBe('token_revoked');
  });

  it('rejects the tokens of a deactivated or deleted user', async () => {
    expect(await codeOf(valid)).toBe('valid');
    await identity.users.update(userId, { isActive: false });
    await identity.userStatus.invalidate(userId);
    expect(await codeOf(valid)).toBe('user_inactive');
    await identity.users.deleteWithCredentials(userId);
    await identity.userStatus.invalidate(userId);
    expect(await codeOf(valid)).toBe('user_inactive');
  });

  it('does not publish the private key material (JWKS has public parts only)', async () => {
    const keys = identity.keys.jwks().keys;
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key).toHaveProperty('x');
      expect(key).not.toHaveProperty('d');
    }
  });
});
