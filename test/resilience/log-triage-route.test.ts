import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEventInput } from '../../src/audit/audit-event.js';
import { anyCovers } from '../../src/authz/permission-match.js';
import type { Principal } from '../../src/http/principal.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { startFakeChatProvider, type FakeChatProvider } from './fake-chat-provider.js';

// Everything here that must never leave the process in clear.
const SECRETS = {
  email: 'alice.jones@example.com',
  password: 'hunter2-Sup3rSecret',
  jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk',
  apiKey: 'wdn_live_' + 'Zm9vYmFyYmF6cXV4cXV1eA',
  ipv4: '203.0.113.77',
  ipv6: '2001:db8::beef:1',
  card: '4111 1111 1111 1111',
  dbPassword: 'pgPa55w0rd',
  aws: 'AKIA' + 'ABCDEFGHIJKLMNOP',
  stripe: 'sk_' + 'live_' + 'abcdefghijklmnopqrstuvwx',
  cookie: 'session=abcdef0123456789',
  llmKey: 'llm-provider-key-' + 'do-not-leak-0123456789',
};

const LOG_LINES = [
  '{"level":30,"time":1,"msg":"request","path":"/v1/users"}',
  `{"level":50,"time":2,"msg":"login failed for ${SECRETS.email} from ${SECRETS.ipv4}","password":"${SECRETS.password}"}`,
  `{"level":50,"time":3,"msg":"token rejected","detail":"Bearer ${SECRETS.jwt}","headers":{"cookie":"${SECRETS.cookie}"}}`,
  `2026-11-23T10:00:00Z ERROR payment failed card=${SECRETS.card} key ${SECRETS.stripe}`,
  `2026-11-23T10:00:01Z ERROR db connect postgres://warden:${SECRETS.dbPassword}@db.internal:5432/warden failed`,
  '    at connect (pool.js:10:5)',
  `2026-11-23T10:00:02Z INFO api key ${SECRETS.apiKey} used from ${SECRETS.ipv6}`,
  `2026-11-23T10:00:03Z ERROR aws ${SECRETS.aws} denied for ${SECRETS.ipv6}, key ${SECRETS.apiKey}`,
];

const triager: Principal = {
  kind: 'user',
  subject: 'u-admin',
  permissions: ['logs:triage'],
  credentialId: 'c1',
};
const reader: Principal = {
  kind: 'user',
  subject: 'u-reader',
  permissions: ['users:read'],
  credentialId: 'c2',
};

const keyed: Principal = {
  kind: 'api_key',
  subject: 'u-owner',
  permissions: ['logs:triage'],
  credentialId: 'key-9',
  keyId: 'key-9',
};
const audited: AuditEventInput[] = [];

async function appWith(env: Record<string, string>): Promise<TestApp> {
  const t = await createTestApp({ env });
  // A test authenticator: the header names which principal is calling.
  t.context.authenticators.unshift(async (request) => {
    const who = request.headers['x-test-principal'];
    return who === 'triager' ? triager : who === 'reader' ? reader : who === 'keyed' ? keyed : undefined;
  });
  audited.length = 0;
  t.context.audit = { record: async (event) => void audited.push(event) };
  // Decide by the permissions the test principal carries (roles are the authz domain's tests).
  t.context.authorize = async (principal, permission) => anyCovers(principal.permissions, permission);
  return t;
}

function expectNoSecrets(text: string): void {
  for (const [name, secret] of Object.entries(SECRETS)) expect(text, `${name} leaked`).not.toContain(secret);
  // Fragments too: the local part of the email, the card digits without spaces, the key body.
  for (const fragment of [
    'alice.jones',
    '4111111111111111',
    'Zm9vYmFyYmF6cXV4cXV1eA',
    'dBjftJeZ4CVPmB92K27uhbUJU1p1r',
  ])
    expect(text).not.toContain(fragment);
}

describe('POST /v1/admin/log-triage with a local OpenAI-compatible provider', () => {
  let provider: FakeChatProvider;
  let t: TestApp;
  beforeEach(async () => {
    provider = await startFakeChatProvider();
    t = await appWith({
      WARDEN_LLM_URL: provider.baseUrl,
      WARDEN_LLM_MODEL: 'triage-model',
      WARDEN_LLM_API_KEY: SECRETS.llmKey,
      WARDEN_BREAKER_FAILURE_THRESHOLD: '2',
    });
  });
  afterEach(async () => {
    await t.close();
    await provider.close();
  });

  const post = (body: unknown, who = 'triager') =>
    t.app.inject({
      method: 'POST',
      url: '/v1/admin/log-triage',
      headers: { 'x-test-principal': who },
      payload: body as Record<string, unknown>,
    });

  it('sends only redacted error lines and returns exactly what was sent', async () => {
    const response = await post({ lines: LOG_LINES });
    expect(response.statusCode).toBe(200);
    const result = response.json<{
      summary: string;
      sent: { model: string; messages: { role: string; content: string }[] };
      lines_sent: number;
    }>();
    expect(result.summary).toBe(provider.summary);

    expect(provider.received).toHaveLength(1);
    const wire = provider.received[0];
    expect(wire?.method).toBe('POST');
    expect(wire?.path).toBe('/v1/chat/completions');
    expect(wire?.headers.authorization).toBe(`Bearer ${SECRETS.llmKey}`);
    // Nothing unredacted left the process: check the raw bytes the provider got.
    expectNoSecrets(wire?.rawBody ?? '');
    expect(JSON.parse(wire?.rawBody ?? '')).toEqual(result.sent);

    const user = result.sent.messages.find((m) => m.role === 'user')?.content ?? '';
    expect(result.sent.model).toBe('triage-model');
    expect(user).toContain('[REDACTED:email]');
    expect(user).toContain('[REDACTED:credit_card]');
    expect(user).toContain('postgres://[REDACTED:url_credentials]@db.internal');
    expect(user).toContain('    at connect (pool.js:10:5)');
    expect(user).not.toContain('INFO'); // only error-level lines
    expect(user).not.toContain('"msg":"request"');
    expect(result.lines_sent).toBe(6);

    // The response and the service's own logs hold no secret either (the provider key included).
    expectNoSecrets(response.body);
    expectNoSecrets(t.rawLogs());
    expect(audited).toEqual([
      expect.objectContaining({
        action: 'logs.triaged',
        actor: 'u-admin',
        outcome: 'success',
        details: { source: 'request', lines_sent: 6, sent_to_provider: true, degraded: null },
      }),
    ]);
  });

  it("without lines, triages the service's own recent error log", async () => {
    t.context.logger.info({ user: SECRETS.email }, 'an info line that must not be sent');
    t.context.logger.error(
      { err: new Error(`refresh failed for ${SECRETS.email}`), token: SECRETS.jwt },
      `upstream ${SECRETS.ipv4} failed`,
    );
    const response = await post({});
    expect(response.statusCode).toBe(200);
    const result = response.json<{ source: string; sent: { messages: { content: string }[] } }>();
    expect(result.source).toBe('recent_errors');
    const user = result.sent.messages[1]?.content ?? '';
    expect(user).toContain('upstream [REDACTED:ipv4] failed');
    expect(user).toContain('refresh failed for [REDACTED:email]');
    expect(user).not.toContain('an info line');
    expectNoSecrets(provider.received[0]?.rawBody ?? '');
  });

  it('serves the cached summary marked degraded when the provider fails, then 503 once open without cache', async () => {
    expect((await post({ lines: LOG_LINES })).statusCode).toBe(200);
    provider.status = 500;
    const degraded = await post({ lines: LOG_LINES });
    expect(degraded.statusCode).toBe(200);
    expect(degraded.headers['warden-degraded']).toMatch(/^stale-cache; age=\d+; reason=upstream_error$/);
    const body = degraded.json<{ summary: string; sent: unknown; degraded: { reason: string } }>();
    expect(body.summary).toBe(provider.summary);
    expect(body.sent).toBeNull();
    expect(body.degraded.reason).toBe('upstream_error');

    // A payload never seen before has no cached summary: the second failure is a 502 and opens the circuit.
    const second = await post({ lines: ['ERROR something new'] });
    expect(second.statusCode).toBe(502);
    expect(second.json<{ code: string }>().code).toBe('upstream_error');
    const other = await post({ lines: ['ERROR something new'] });
    expect(other.statusCode).toBe(503);
    expect(other.headers['content-type']).toContain('application/problem+json');
    expect(other.headers['retry-after']).toBe('30');
    expect(other.json<{ code: string }>().code).toBe('circuit_open');
    expect(provider.received).toHaveLength(3); // the open circuit did not call the provider
    // Failures are audited too: the 502's excerpts had left, the open circuit's had not.
    expect(audited.filter((event) => event.outcome === 'failure')).toEqual([
      expect.objectContaining({ action: 'logs.triaged', actor: 'u-admin', details: { reason: 'upstream_error', sent_to_provider: true } }),
      expect.objectContaining({ action: 'logs.triaged', actor: 'u-admin', details: { reason: 'circuit_open', sent_to_provider: false } }),
    ]);
    // The open circuit still serves the cached summary of a known payload.
    const cached = await post({ lines: LOG_LINES });
    expect(cached.headers['warden-degraded']).toMatch(/reason=circuit_open$/);
    expect(t.rawLogs()).toContain('circuit breaker opened');
  });

  it('audits a caller with an API key as apikey:<id>, as every route does', async () => {
    expect((await post({ lines: ['ERROR x'] }, 'keyed')).statusCode).toBe(200);
    expect(audited).toEqual([expect.objectContaining({ action: 'logs.triaged', actor: 'apikey:key-9', outcome: 'success' })]);
  });

  it('maps a provider 4xx to 502 upstream_error without opening the circuit', async () => {
    provider.status = 401;
    for (let i = 0; i < 3; i += 1) {
      const response = await post({ lines: ['ERROR x'] });
      expect(response.statusCode).toBe(502);
      expect(response.json<{ code: string }>().code).toBe('upstream_error');
      expect(response.body).not.toContain(SECRETS.llmKey);
    }
    expect(provider.received).toHaveLength(3);
  });

  it('requires the logs:triage permission and a strict body', async () => {
    expect((await post({ lines: ['ERROR x'] }, 'nobody')).statusCode).toBe(401);
    expect((await post({ lines: ['ERROR x'] }, 'reader')).statusCode).toBe(403);
    expect((await post({ lines: ['ERROR x'], extra: 1 })).statusCode).toBe(400);
    expect((await post({ lines: [1] })).statusCode).toBe(400);
    expect(provider.received).toHaveLength(0);
  });
});

describe('POST /v1/admin/log-triage without a provider', () => {
  it('returns the redacted, filtered payload and says that no provider is set', async () => {
    const t = await appWith({});
    try {
      const response = await t.app.inject({
        method: 'POST',
        url: '/v1/admin/log-triage',
        headers: { 'x-test-principal': 'triager' },
        payload: { lines: LOG_LINES },
      });
      expect(response.statusCode).toBe(200);
      const result = response.json<{
        summary: null;
        sent: null;
        provider_configured: boolean;
        detail: string;
        payload: { messages: { content: string }[] };
      }>();
      expect(result.provider_configured).toBe(false);
      expect(result.summary).toBeNull();
      expect(result.sent).toBeNull();
      expect(result.detail).toMatch(/No LLM provider is set/);
      expect(result.payload.messages[1]?.content).toContain('[REDACTED:email]');
      expectNoSecrets(response.body);
    } finally {
      await t.close();
    }
  });
});
