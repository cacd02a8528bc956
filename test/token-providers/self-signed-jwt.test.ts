import { generateKeyPair } from 'jose';
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
    await expect(verifySelfSignedJwt(value, { ...base, requiredScopes: ['keys:write'] })).rejects.toThrow('token lacks the scopes: keys:write');
    await expect(verifySelfSignedJwt(value, { ...base, algorithms: ['ES256'] })).rejects.toMatchObject({ code: 'ERR_JOSE_ALG_NOT_ALLOWED' });
    await expect(verifySelfSignedJwt(value, { ...base, now: () => now + 120_000 })).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
  });
});
