import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { identityOf } from '../../src/identity/identity-service.js';
import {
  createRemoteTokenVerifier,
  type RemoteTokenVerifierOptions,
} from '../../src/identity/remote-token-verifier.js';
import { KeySourceUnavailableError } from '../../src/identity/token-checks.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

/** A JWKS endpoint whose answer the test decides: the key set, or a failure status. */
interface JwksEndpoint {
  readonly url: string;
  fetches: number;
  answer: { readonly keys: JWK[] } | 503;
}

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

async function signingKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA');
  const kid = `kid-${randomUUID()}`;
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' } };
}

function tokenOf(key: SigningKey): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'at+jwt' })
    .setIssuer('warden')
    .setAudience('warden')
    .setSubject(randomUUID())
    .setIssuedAt()
    .setNotBefore('0s')
    .setExpirationTime('1h')
    .setJti(randomUUID())
    .sign(key.privateKey);
}

describe('the remote verifier’s key set: refetched after its max age, kept through a short outage, never stormed', () => {
  let server: Server | undefined;
  let endpoint: JwksEndpoint;
  let key: SigningKey;

  beforeEach(async () => {
    key = await signingKey();
    const state = { fetches: 0, answer: { keys: [key.publicJwk] } as JwksEndpoint['answer'] };
    server = createServer((_request, response) => {
      state.fetches += 1;
      if (state.answer === 503) response.writeHead(503, { 'content-type': 'text/plain' }).end('overloaded');
      else response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(state.answer));
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    endpoint = Object.defineProperties(
      { url: `http://127.0.0.1:${port}/.well-known/jwks.json` } as JwksEndpoint,
      {
        fetches: { get: () => state.fetches },
        answer: { get: () => state.answer, set: (value: JwksEndpoint['answer']) => (state.answer = value) },
      },
    );
  });
  afterEach(async () => {
    vi.useRealTimers();
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
    server = undefined;
  });

  const verifierFor = (options: Partial<RemoteTokenVerifierOptions> = {}) =>
    createRemoteTokenVerifier({
      jwksUrl: endpoint.url,
      issuer: 'warden',
      audience: 'warden',
      now: () => Date.now(),
      ...options,
    });
  const later = (ms: number): void => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + ms);
  };

  it('fetches the key set again once it is older than jwksMaxAgeMs, so a key no longer published stops verifying', async () => {
    const verifier = verifierFor();
    const token = await tokenOf(key);
    expect(await verifier.verify(token)).toMatchObject({ valid: true });
    // Retired in Warden: no longer in the set. The cached set still has it, for the max age only.
    endpoint.answer = { keys: [(await signingKey()).publicJwk] };
    expect(await verifier.verify(token)).toMatchObject({ valid: true });
    later(61_000);
    expect(await verifier.verify(token)).toMatchObject({ valid: false, code: 'token_unknown_kid' });
    expect(endpoint.fetches).toBe(2);
  });

  it('uses the last key set through an outage shorter than jwksMaxStaleMs, then fails closed', async () => {
    const verifier = verifierFor({ jwksMaxStaleMs: 300_000 });
    const token = await tokenOf(key);
    expect(await verifier.verify(token)).toMatchObject({ valid: true });
    endpoint.answer = 503;
    later(120_000);
    expect(await verifier.verify(token)).toMatchObject({ valid: true });
    // A kid the last set does not know is not a verdict while the current set cannot be seen.
    await expect(verifier.verify(await tokenOf(await signingKey()))).rejects.toBeInstanceOf(
      KeySourceUnavailableError,
    );
    later(300_000);
    await expect(verifier.verify(token)).rejects.toBeInstanceOf(KeySourceUnavailableError);
  });

  it('with jwksMaxStaleMs 0, an outage past the max age fails closed at once', async () => {
    const verifier = verifierFor({ jwksMaxStaleMs: 0 });
    const token = await tokenOf(key);
    expect(await verifier.verify(token)).toMatchObject({ valid: true });
    endpoint.answer = 503;
    later(61_000);
    await expect(verifier.verify(token)).rejects.toBeInstanceOf(KeySourceUnavailableError);
  });

  it('keeps verifying known kids with a fresh set after a failed unknown-kid refetch, even with jwksMaxStaleMs 0', async () => {
    const verifier = verifierFor({ jwksCooldownMs: 1_000, jwksMaxStaleMs: 0 });
    const token = await tokenOf(key);
    expect(await verifier.verify(token)).toMatchObject({ valid: true });
    // 2 s later (past the cooldown, well within the max age) a token with an unknown kid makes
    // the verifier refetch, which fails: no verdict on that token, rightly.
    endpoint.answer = 503;
    later(2_000);
    await expect(verifier.verify(await tokenOf(await signingKey()))).rejects.toBeInstanceOf(
      KeySourceUnavailableError,
    );
    // The set in hand is 2 s old, fresh, not stale: a token it knows still verifies.
    expect(await verifier.verify(token)).toMatchObject({ valid: true });
  });

  it('does not fetch a failing key set on every request', async () => {
    endpoint.answer = 503;
    const verifier = verifierFor();
    const token = await tokenOf(key);
    for (let i = 0; i < 20; i++)
      await expect(verifier.verify(token)).rejects.toBeInstanceOf(KeySourceUnavailableError);
    expect(endpoint.fetches).toBe(1);
    // Asked again once the back-off (5 s, or the cooldown when shorter) has passed; recovered then.
    endpoint.answer = { keys: [key.publicJwk] };
    later(5_001);
    expect(await verifier.verify(token)).toMatchObject({ valid: true });
    expect(endpoint.fetches).toBe(2);
  });
});

describe('against Warden itself', () => {
  let warden: TestApp | undefined;
  afterEach(async () => {
    vi.useRealTimers();
    await warden?.close();
    warden = undefined;
  });

  it('a key retired with --retire-previous stops verifying elsewhere within the JWKS max-age', async () => {
    warden = await createTestApp();
    const address = await warden.app.listen({ host: '127.0.0.1', port: 0 });
    const keys = identityOf(warden.context).keys;
    const leaked = keys.active();
    const verifier = createRemoteTokenVerifier({
      jwksUrl: `${address}/.well-known/jwks.json`,
      issuer: 'warden',
      audience: 'warden',
      now: () => Date.now(),
    });
    const forge = (): Promise<string> =>
      new SignJWT({ sid: randomUUID() })
        .setProtectedHeader({ alg: leaked.algorithm, kid: leaked.kid, typ: 'at+jwt' })
        .setIssuer('warden')
        .setAudience('warden')
        .setSubject(randomUUID())
        .setIssuedAt()
        .setNotBefore('0s')
        .setExpirationTime('10m')
        .setJti(randomUUID())
        .sign(leaked.privateKey);
    expect((await verifier.verify(await forge())).valid).toBe(true);
    await keys.rotate({ retirePrevious: true });
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 61_000);
    expect(await verifier.verify(await forge())).toMatchObject({ valid: false, code: 'token_unknown_kid' });
  });
});
