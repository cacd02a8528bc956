import { afterEach, describe, expect, it } from 'vitest';
import { ROUTE_MODULES, type RouteModule } from '../../src/server/routes/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

/** Echoes what Warden believes about the caller, as every route and hook sees it. */
const whoAmI: RouteModule = async (app) => {
  app.get('/v1/probe/who-am-i', { config: { public: true } }, async (request) => ({
    ip: request.ip,
    protocol: request.protocol,
    host: request.host,
  }));
};

const PROXY = '10.0.0.2';
const CLIENT = '203.0.113.9';
const SPOOFED = '198.51.100.66';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function build(env: Record<string, string>): Promise<TestApp> {
  t = await createTestApp({ env, routes: [...ROUTE_MODULES, whoAmI] });
  return t;
}

/** A request as a proxy at `from` forwards it: the client's own X-Forwarded-For first, then the hops. */
async function forwarded(app: TestApp, from: string, xff: string, extra: Record<string, string> = {}) {
  return app.app.inject({
    url: '/v1/probe/who-am-i',
    remoteAddress: from,
    headers: { host: 'api.example.com', 'x-forwarded-for': xff, 'x-forwarded-proto': 'https', ...extra },
  });
}

describe('WARDEN_TRUST_PROXY as a hop count', () => {
  it('1: the client is the address the one proxy appended, and its X-Forwarded-Proto counts', async () => {
    const app = await build({ WARDEN_TRUST_PROXY: '1', WARDEN_HTTPS_REDIRECT: 'true' });
    const response = await forwarded(app, PROXY, CLIENT);
    // 200, not a 308 to itself: the proxy said https, so there is nothing to redirect.
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ ip: CLIENT, protocol: 'https', host: 'api.example.com' });
    expect(response.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
  });

  it('1: an entry the client put in X-Forwarded-For beyond the trusted hop is not believed', async () => {
    const app = await build({ WARDEN_TRUST_PROXY: '1' });
    // The client sent "X-Forwarded-For: SPOOFED"; the proxy appended the address it saw.
    const response = await forwarded(app, PROXY, `${SPOOFED}, ${CLIENT}`);
    expect(response.json()).toMatchObject({ ip: CLIENT });
  });

  it('2: two proxies in a chain; the client is the address the outer proxy appended', async () => {
    const app = await build({ WARDEN_TRUST_PROXY: '2' });
    const response = await forwarded(app, PROXY, `${SPOOFED}, ${CLIENT}, 10.0.0.1`);
    expect(response.json()).toMatchObject({ ip: CLIENT, protocol: 'https' });
  });

  it('0: trusts nothing, like false', async () => {
    const app = await build({ WARDEN_TRUST_PROXY: '0' });
    const response = await forwarded(app, PROXY, CLIENT);
    expect(response.json()).toMatchObject({ ip: PROXY, protocol: 'http' });
    expect(response.headers['strict-transport-security']).toBeUndefined();
  });

  it('the client IP from the hop count is the one the request log records', async () => {
    const app = await build({ WARDEN_TRUST_PROXY: '1' });
    await forwarded(app, PROXY, `${SPOOFED}, ${CLIENT}`);
    expect(app.logs.find((l) => l.msg === 'request')?.ip).toBe(CLIENT);
  });
});

describe('WARDEN_TRUST_PROXY other forms keep working', () => {
  it('false: X-Forwarded-* are ignored', async () => {
    const app = await build({ WARDEN_TRUST_PROXY: 'false' });
    const response = await forwarded(app, PROXY, CLIENT);
    expect(response.json()).toMatchObject({ ip: PROXY, protocol: 'http' });
  });

  it('true: every hop is trusted, so the leftmost entry wins (refused in production)', async () => {
    const app = await build({ WARDEN_TRUST_PROXY: 'true' });
    const response = await forwarded(app, PROXY, `${SPOOFED}, ${CLIENT}`);
    expect(response.json()).toMatchObject({ ip: SPOOFED, protocol: 'https' });
  });

  it.each(['0.0.0.0/0', '0.0.0.0/0, ::/0'])(
    '%s outside production: builds (proxy-addr refuses /0 itself) and trusts every hop, like true',
    async (setting) => {
      const app = await build({ WARDEN_TRUST_PROXY: setting });
      const response = await forwarded(app, PROXY, `${SPOOFED}, ${CLIENT}`);
      expect(response.json()).toMatchObject({ ip: SPOOFED, protocol: 'https' });
    },
  );

  it.each(['10.0.0.0/8', '10.0.0.2', 'uniquelocal', 'loopback, 10.0.0.0/8'])(
    'addresses %s: trusted only when the peer is in the list',
    async (setting) => {
      const app = await build({ WARDEN_TRUST_PROXY: setting });
      expect((await forwarded(app, PROXY, `${SPOOFED}, ${CLIENT}`)).json()).toMatchObject({ ip: CLIENT, protocol: 'https' });
      // A direct client outside the list cannot choose its IP or claim https.
      const direct = await forwarded(app, '192.0.2.50', CLIENT);
      expect(direct.json()).toMatchObject({ ip: '192.0.2.50', protocol: 'http' });
      expect(direct.headers['strict-transport-security']).toBeUndefined();
    },
  );
});
