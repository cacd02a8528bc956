import { describe, expect, it } from 'vitest';
import { authorizedFetch, clientCredentials, RotatingToken, staticToken, TokenEndpointError } from '../../src/token-providers/index.js';
import type { IssuedToken } from '../../src/token-providers/index.js';
import { startFakeTokenEndpoint } from './fake-token-endpoint.js';

/** A token source with a controllable clock that counts its calls. */
function countingSource(clock: { now: number }, lifetimeMs: number) {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    source: async (): Promise<IssuedToken> => {
      calls += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { value: `t${calls}`, expiresAt: clock.now + lifetimeMs };
    },
  };
}

describe('RotatingToken', () => {
  it('makes exactly one refresh call per expiry under 100 concurrent callers', async () => {
    const clock = { now: 0 };
    const counter = countingSource(clock, 600_000);
    const token = new RotatingToken(counter.source, { refreshMarginMs: 60_000, now: () => clock.now });
    const first = await Promise.all(Array.from({ length: 100 }, () => token.getToken()));
    expect(new Set(first)).toEqual(new Set(['t1']));
    expect(counter.calls).toBe(1);

    clock.now = 500_000; // inside the token's life, before the margin
    await Promise.all(Array.from({ length: 100 }, () => token.getToken()));
    expect(counter.calls).toBe(1);

    clock.now = 545_000; // within 60 s of expiry: one refresh, shared
    const second = await Promise.all(Array.from({ length: 100 }, () => token.getToken()));
    expect(new Set(second)).toEqual(new Set(['t2']));
    expect(counter.calls).toBe(2);
  });

  it('caps the margin at half the lifetime so short-lived tokens are not refreshed on every call', async () => {
    const clock = { now: 0 };
    const counter = countingSource(clock, 10_000);
    const token = new RotatingToken(counter.source, { refreshMarginMs: 60_000, now: () => clock.now });
    await token.getToken();
    clock.now = 4_000;
    await token.getToken();
    expect(counter.calls).toBe(1);
    clock.now = 5_000;
    await token.getToken();
    expect(counter.calls).toBe(2);
  });

  it('retries transient failures with backoff and emits refresh/failure events', async () => {
    const endpoint = await startFakeTokenEndpoint({ clientId: 'a', clientSecret: 'b' });
    try {
      endpoint.failNext(2, 503);
      const token = new RotatingToken(clientCredentials({ tokenUrl: endpoint.url, clientId: 'a', clientSecret: 'b' }), {
        initialDelayMs: 1,
        maxDelayMs: 5,
      });
      const events: string[] = [];
      token.on('refresh', () => events.push('refresh'));
      token.on('failure', () => events.push('failure'));
      expect(await token.getToken()).toBe('token-1');
      expect(endpoint.calls).toBe(3);
      expect(events).toEqual(['refresh']);
    } finally {
      await endpoint.close();
    }
  });

  it('does not retry bad credentials, and reports the failure', async () => {
    const endpoint = await startFakeTokenEndpoint({ clientId: 'a', clientSecret: 'b' });
    try {
      const token = new RotatingToken(clientCredentials({ tokenUrl: endpoint.url, clientId: 'a', clientSecret: 'nope' }), { initialDelayMs: 1 });
      const failures: Error[] = [];
      token.on('failure', ({ error }) => failures.push(error));
      await expect(token.getToken()).rejects.toBeInstanceOf(TokenEndpointError);
      expect(endpoint.calls).toBe(1);
      expect(failures).toHaveLength(1);
    } finally {
      await endpoint.close();
    }
  });

  it('opens the circuit after repeated failed refreshes and stops calling the endpoint', async () => {
    const endpoint = await startFakeTokenEndpoint({ clientId: 'a', clientSecret: 'b' });
    try {
      endpoint.failNext(1000, 503);
      const token = new RotatingToken(clientCredentials({ tokenUrl: endpoint.url, clientId: 'a', clientSecret: 'b' }), {
        maxAttempts: 1,
        breakerThreshold: 3,
        breakerHalfOpenAfterMs: 60_000,
      });
      for (let i = 0; i < 3; i++) await expect(token.getToken()).rejects.toBeInstanceOf(TokenEndpointError);
      const callsWhenOpened = endpoint.calls;
      await expect(token.getToken()).rejects.toThrow(/circuit|open/i);
      expect(endpoint.calls).toBe(callsWhenOpened);
    } finally {
      await endpoint.close();
    }
  });
});

describe('authorizedFetch', () => {
  it('adds the bearer token and retries once with a fresh token on 401', async () => {
    const clock = { now: 0 };
    const counter = countingSource(clock, 600_000);
    const token = new RotatingToken(counter.source, { now: () => clock.now });
    const seen: string[] = [];
    const api: typeof fetch = async (_input, init) => {
      const auth = new Headers(init?.headers).get('authorization') ?? '';
      seen.push(auth);
      return new Response(null, { status: auth === 'Bearer t1' ? 401 : 200 });
    };
    const response = await authorizedFetch(token, { fetch: api })('http://api.example/thing', { method: 'POST', body: 'x' });
    expect(response.status).toBe(200);
    expect(seen).toEqual(['Bearer t1', 'Bearer t2']);
  });

  it('returns the 401 when the provider cannot rotate', async () => {
    let calls = 0;
    const api: typeof fetch = async () => {
      calls += 1;
      return new Response(null, { status: 401 });
    };
    const response = await authorizedFetch(staticToken('fixed'), { fetch: api })('http://api.example/');
    expect(response.status).toBe(401);
    expect(calls).toBe(1);
  });

  it('a burst of 401s with the same stale token causes one refresh', async () => {
    const clock = { now: 0 };
    const counter = countingSource(clock, 600_000);
    const token = new RotatingToken(counter.source, { now: () => clock.now });
    await token.getToken();
    const api: typeof fetch = async (_input, init) =>
      new Response(null, { status: new Headers(init?.headers).get('authorization') === 'Bearer t1' ? 401 : 200 });
    const responses = await Promise.all(Array.from({ length: 50 }, () => authorizedFetch(token, { fetch: api })('http://api.example/')));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(counter.calls).toBe(2);
  });
});

describe('RotatingToken during a token-endpoint outage', () => {
  // Refreshing early is there to ride over a short outage: a failed early refresh must not fail
  // callers while the cached token is still valid; once it has expired, the failure is theirs.
  it('keeps serving a still-valid token when an early refresh fails', async () => {
    const clock = { now: 0 };
    let fail = false;
    const token = new RotatingToken(
      async () => {
        if (fail) throw new TokenEndpointError(503, 'temporarily_unavailable', undefined); // a transient outage
        return { value: 'still-valid', expiresAt: clock.now + 300_000 };
      },
      { now: () => clock.now, initialDelayMs: 1, maxDelayMs: 2 },
    );
    expect(await token.getToken()).toBe('still-valid');
    clock.now = 250_000; // 50 s before expiry, inside the 60 s margin
    fail = true;
    const failures: Error[] = [];
    token.on('failure', ({ error }) => failures.push(error));
    await expect(token.getToken()).resolves.toBe('still-valid');
    expect(failures).toHaveLength(1);
    clock.now = 300_000;
    await expect(token.getToken()).rejects.toBeInstanceOf(TokenEndpointError);
  });
});
