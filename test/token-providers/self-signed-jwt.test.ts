import { randomUUID } from 'node:crypto';
import { errors, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { selfSignedJwt, verifySelfSignedJwt } from '../../src/token-providers/index.js';

describe('selfSignedJwt', () => {
  it('signs a short-lived token with scopes that the verify helper accepts', async () => {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA');
    const now = Date.UTC(2026, 10, 23);
    const issued = await selfSignedJwt({ key: privateKey, issuer: 'svc-a', audience: 'svc-b', scopes: ['keys:read'], ttlSeconds: 60, keyId: 'k1', now: () => now })();
    expect(issued.expiresAt).toBe(now + 60_000);
    const payload = await verifySelfSignedJwt(issued.value, { key: publicKey, algorithms: ['EdDSA'], issuer: 'svc-a', audience: 'svc-b', requiredScopes: ['keys:read'], now: () => now });
    expect(payload).toMatchObject({ iss: 'svc-a', sub: 'svc-a', aud: 'svc-b', scope: 'keys:read' });
    expect(typeof payload.jti).toBe('string');
  });

  it('is rejected for a wrong audience, a missing scope, an algorithm not allowed, or after expiry', async () => {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA');
    const now = Date.UTC(2026, 10, 23);
    const { value } = await selfSignedJwt({ key: privateKey, issuer: 'svc-a', audience: 'svc-b', scopes: ['keys:read'], ttlSeconds: 60, now: () => now })();
    const base = { key: publicKey, algorithms: ['EdDSA'], issuer: 'svc-a', audience: 'svc-b', now: () => now };
    await expect(verifySelfSignedJwt(value, { ...base, audience: 'svc-c' })).rejects.toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
    // A jose claim error like the others, so one `instanceof errors.JOSEError` maps every refusal.
    const missing = await verifySelfSignedJwt(value, { ...base, requiredScopes: ['keys:write'] }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(errors.JWTClaimValidationFailed);
    expect(missing).toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'scope', message: 'token lacks the scopes: keys:write' });
    await expect(verifySelfSignedJwt(value, { ...base, algorithms: ['ES256'] })).rejects.toMatchObject({ code: 'ERR_JOSE_ALG_NOT_ALLOWED' });
    await expect(verifySelfSignedJwt(value, { ...base, now: () => now + 120_000 })).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
  });

  describe('hostile tokens signed with the right key', () => {
    const now = Date.UTC(2026, 10, 23);
    const issuedAt = Math.floor(now / 1000);

    /** A token that passes every check except the ones each test then breaks. */
    function forge(header: { typ?: string }, claims: { exp?: number; iat?: number; jti?: string }): SignJWT {
      return new SignJWT({ scope: 'keys:read', ...claims })
        .setProtectedHeader({ alg: 'EdDSA', ...header })
        .setIssuer('svc-a')
        .setSubject('svc-a')
        .setAudience('svc-b')
        .setNotBefore(issuedAt);
    }
    const wellFormed = { exp: issuedAt + 60, iat: issuedAt, jti: randomUUID() };

    it('accepts a well-formed hand-made token (the baseline for the cases below)', async () => {
      const { privateKey, publicKey } = await generateKeyPair('EdDSA');
      const token = await forge({ typ: 'JWT' }, wellFormed).sign(privateKey);
      const payload = await verifySelfSignedJwt(token, { key: publicKey, algorithms: ['EdDSA'], issuer: 'svc-a', audience: 'svc-b', requiredScopes: ['keys:read'], now: () => now });
      expect(payload.jti).toBe(wellFormed.jti);
    });

    it('refuses a token without exp, even years later', async () => {
      const { privateKey, publicKey } = await generateKeyPair('EdDSA');
      const { exp: _exp, ...noExp } = wellFormed;
      const token = await forge({ typ: 'JWT' }, noExp).sign(privateKey);
      const base = { key: publicKey, algorithms: ['EdDSA'], issuer: 'svc-a', audience: 'svc-b' };
      for (const at of [now, now + 5 * 365 * 86_400_000]) {
        await expect(verifySelfSignedJwt(token, { ...base, now: () => at })).rejects.toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'exp', reason: 'missing' });
      }
    });

    it('refuses a token without iat or without jti', async () => {
      const { privateKey, publicKey } = await generateKeyPair('EdDSA');
      const base = { key: publicKey, algorithms: ['EdDSA'], issuer: 'svc-a', audience: 'svc-b', now: () => now };
      const { iat: _iat, ...noIat } = wellFormed;
      const { jti: _jti, ...noJti } = wellFormed;
      await expect(verifySelfSignedJwt(await forge({ typ: 'JWT' }, noIat).sign(privateKey), base)).rejects.toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'iat', reason: 'missing' });
      await expect(verifySelfSignedJwt(await forge({ typ: 'JWT' }, noJti).sign(privateKey), base)).rejects.toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'jti', reason: 'missing' });
    });

    it('refuses a token with a wrong or missing typ header', async () => {
      const { privateKey, publicKey } = await generateKeyPair('EdDSA');
      const base = { key: publicKey, algorithms: ['EdDSA'], issuer: 'svc-a', audience: 'svc-b', now: () => now };
      for (const header of [{ typ: 'at+jwt' }, { typ: 'dpop+jwt' }, {}]) {
        const token = await forge(header, wellFormed).sign(privateKey);
        await expect(verifySelfSignedJwt(token, base)).rejects.toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'typ' });
      }
    });

    it('refuses a token older than the longest ttl even when its exp is far in the future', async () => {
      const { privateKey, publicKey } = await generateKeyPair('EdDSA');
      const token = await forge({ typ: 'JWT' }, { ...wellFormed, exp: issuedAt + 10 * 365 * 86_400 }).sign(privateKey);
      const base = { key: publicKey, algorithms: ['EdDSA'], issuer: 'svc-a', audience: 'svc-b' };
      await expect(verifySelfSignedJwt(token, { ...base, now: () => now + 3_600_000 })).resolves.toMatchObject({ jti: wellFormed.jti });
      await expect(verifySelfSignedJwt(token, { ...base, now: () => now + 2 * 86_400_000 })).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED', claim: 'iat' });
      await expect(verifySelfSignedJwt(token, { ...base, maxTokenAgeSeconds: 600, now: () => now + 3_600_000 })).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED', claim: 'iat' });
    });
  });
});
