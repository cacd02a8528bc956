import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { createRemoteTokenVerifier } from '../../src/identity/remote-token-verifier.js';
import { KeySourceUnavailableError } from '../../src/identity/token-checks.js';

/**
 * After one failed fetch (which anyone can cause once per cooldown with a token bearing an
 * unknown kid), requests are answered from the key set in hand for the back-off. A set younger
 * than `jwksMaxAgeMs` is fresh, not stale: it keeps verifying known kids even with
 * `jwksMaxStaleMs: 0` ("never use a stale set").
 */
let server: Server;
let url: string;
let failing = false;
let keys: JWK[] = [];

async function signingKey(): Promise<{ kid: string; privateKey: CryptoKey; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA');
  const kid = `kid-${randomUUID()}`;
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' } };
}
const tokenOf = (key: { kid: string; privateKey: CryptoKey }): Promise<string> =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'at+jwt' })
    .setIssuer('warden')
    .setAudience('warden')
    .setSubject(randomUUID())
    .setIssuedAt()
    .setNotBefore('0s')
    .setExpirationTime('1h')
    .setJti(randomUUID())
    .sign(key.privateKey);

beforeEach(async () => {
  failing = false;
  server = createServer((_req, res) => {
    if (failing) res.writeHead(503).end('down');
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
});
afterEach(async () => {
  vi.useRealTimers();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

it('a fresh key set still verifies known kids after a failed unknown-kid refetch (jwksMaxStaleMs 0)', async () => {
  const key = await signingKey();
  keys = [key.publicJwk];
  const verifier = createRemoteTokenVerifier({
    jwksUrl: url,
    issuer: 'warden',
    audience: 'warden',
    jwksCooldownMs: 1_000,
    jwksMaxStaleMs: 0,
    now: () => Date.now(),
  });
  const good = await tokenOf(key);
  expect(await verifier.verify(good)).toMatchObject({ valid: true });

  // Warden blips; 2 s later (past the cooldown, well within the 60 s max age) a token with an
  // unknown kid makes the verifier refetch, which fails: no verdict on that token, rightly.
  failing = true;
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(Date.now() + 2_000);
  await expect(verifier.verify(await tokenOf(await signingKey()))).rejects.toBeInstanceOf(
    KeySourceUnavailableError,
  );

  // The set in hand is 2 s old, not stale: a token it knows must still verify.
  expect(await verifier.verify(good)).toMatchObject({ valid: true });
});
