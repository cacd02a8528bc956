import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/index.js';
import { childOf, loggerOptions, redactLogValue } from '../../src/http/logger-options.js';
import { ROUTE_MODULES, type RouteModule } from '../../src/server/routes/index.js';
import { createTestApp } from '../helpers/app.js';

/** A logger with the service's options; `raw()` is everything written, error lines included. */
function captureLogger(): { log: Logger; raw: () => string; lines: () => Record<string, unknown>[]; errorLines: string[] } {
  let raw = '';
  const errorLines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      raw += chunk.toString('utf8');
      done();
    },
  });
  const log = pino(loggerOptions('info', { onErrorLine: (line) => errorLines.push(line) }), stream);
  const lines = (): Record<string, unknown>[] =>
    raw
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { log, raw: () => raw, lines, errorLines };
}

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXZhbHVlLTQy';
const PASSWORD = 'k9Jh2mQ8zLp4Rt7Vw1Yc5Nb3';

describe('the service logger uses the redaction engine', () => {
  it('redacts keys and values in every log line and feeds error lines to the recent-error ring', async () => {
    const t = await createTestApp();
    try {
      const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXZhbHVl';
      t.context.logger.info({ user: { email: 'frank@example.com', password: 'pw-999' } }, 'profile saved');
      t.context.logger.error(
        { err: new Error(`verify failed for Bearer ${jwt}`), client: '198.51.100.4' },
        'token check failed',
      );
      t.context.logger.warn('a warning from 198.51.100.5');
      const raw = t.rawLogs();
      for (const secret of ['frank@example.com', 'pw-999', jwt, '198.51.100.4', '198.51.100.5'])
        expect(raw).not.toContain(secret);
      const errorLine = t.logs.find((l) => l.msg === 'token check failed') as {
        err: { type: string; message: string };
        client: string;
      };
      expect(errorLine.err.type).toBe('Error');
      expect(errorLine.err.message).toBe('verify failed for Bearer [REDACTED:jwt]');
      expect(errorLine.client).toBe('[REDACTED:ipv4]');

      const ring = t.context.recentErrors.lines();
      expect(ring).toHaveLength(1);
      expect(ring[0]).toContain('token check failed');
      expect(ring[0]).not.toContain(jwt);
    } finally {
      await t.close();
    }
  });

  it('applies the WARDEN_REDACT_* allow/deny lists and disabled patterns to the service logger', async () => {
    const t = await createTestApp({
      env: {
        WARDEN_REDACT_DISABLED_PATTERNS: 'email',
        WARDEN_REDACT_DENY_KEYS: 'customer_ref',
        WARDEN_REDACT_ALLOW_KEYS: 'csrf_token',
      },
    });
    try {
      t.context.logger.info(
        { customerRef: 'C-1', csrf_token: 'visible', password: 'hidden-pw' },
        'order by henry@example.com from 10.9.8.7',
      );
      const line = t.logs.find((l) => l.customerRef !== undefined);
      expect(line).toMatchObject({
        customerRef: '[REDACTED]',
        csrf_token: 'visible',
        password: '[REDACTED]',
      });
      expect(line?.msg).toBe('order by henry@example.com from [REDACTED:ipv4]');
    } finally {
      await t.close();
    }
  });

  it('refuses an unknown pattern type in WARDEN_REDACT_DISABLED_PATTERNS', () => {
    expect(() =>
      loadSettings({
        env: { WARDEN_ENV: 'development', WARDEN_REDACT_DISABLED_PATTERNS: 'ipv4,phone' },
        envFile: false,
        generateDevSecrets: false,
      }),
    ).toThrow(/WARDEN_REDACT_DISABLED_PATTERNS/);
  });

  it('redacts the message pino copies from an error logged without one', () => {
    const { log, raw, lines, errorLines } = captureLogger();
    log.error(new Error(`verify failed: Bearer ${JWT} password=${PASSWORD}`));
    log.error({ err: new Error(`login for password=${PASSWORD}`) });
    log.warn({ err: { message: `upstream said token=${PASSWORD}` } });
    log.error({ err: new TypeError(`jwt ${JWT}`) }, undefined);
    expect(raw()).not.toContain(JWT);
    expect(raw()).not.toContain(PASSWORD);
    expect(errorLines.join('\n')).not.toContain(PASSWORD);
    expect(lines().map((line) => line.msg)).toEqual([
      'verify failed: Bearer [REDACTED:jwt] password=[REDACTED:secret_assignment]',
      'login for password=[REDACTED:secret_assignment]',
      'upstream said token=[REDACTED:secret_assignment]',
      'jwt [REDACTED:jwt]',
    ]);
  });

  it('redacts a child logger’s bindings, at any depth', () => {
    const { log, raw, lines } = captureLogger();
    const child = log.child({ password: PASSWORD, request_id: 'req-0001', note: `bearer is Bearer ${JWT}` });
    child.info('m');
    child.child({ session_token: PASSWORD, step: 2 }).info('deeper');
    log.child({ user: { hmac_key: PASSWORD, id: 'u1' } }, { level: 'info' }).info('with options');
    expect(raw()).not.toContain(PASSWORD);
    expect(raw()).not.toContain(JWT);
    const [first, second, third] = lines();
    expect(first).toMatchObject({ password: '[REDACTED]', request_id: 'req-0001', note: 'bearer is Bearer [REDACTED:jwt]', msg: 'm' });
    expect(second).toMatchObject({ password: '[REDACTED]', request_id: 'req-0001', session_token: '[REDACTED]', step: 2, msg: 'deeper' });
    expect(third).toMatchObject({ user: { hmac_key: '[REDACTED]', id: 'u1' }, msg: 'with options' });
  });

  it('lets a per-request child binding a generated UUID through unparsed, and checks every other one', () => {
    const { log, raw, lines } = captureLogger();
    const uuid = '3f1c2b9a-7d4e-4c1a-9b2f-0e8d7c6b5a49';
    childOf(log, { request_id: uuid }).info('generated id');
    childOf(log, { request_id: JWT }).info('client id');
    childOf(log, { password: uuid }).info('sensitive name');
    childOf(log, { request_id: uuid, token: PASSWORD }).info('two bindings');
    expect(raw()).not.toContain(JWT);
    expect(raw()).not.toContain(PASSWORD);
    expect(lines().map(({ request_id, password, token }) => ({ request_id, password, token }))).toEqual([
      { request_id: uuid, password: undefined, token: undefined },
      { request_id: '[REDACTED:jwt]', password: undefined, token: undefined },
      { request_id: undefined, password: '[REDACTED]', token: undefined },
      { request_id: uuid, password: undefined, token: '[REDACTED]' },
    ]);
  });

  it('does not adopt a credential a client sends as its X-Request-Id: a fresh id replaces it in the answer and the log', async () => {
    const apiKey = `wdn_${'Q7v'.repeat(10)}`;
    const t = await createTestApp();
    try {
      const answered: string[] = [];
      for (const id of [JWT, apiKey]) {
        const response = await t.app.inject({ url: '/healthz', headers: { 'x-request-id': id } });
        const echoed = String(response.headers['x-request-id']);
        expect(echoed).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        answered.push(echoed);
      }
      expect(t.logs.filter((line) => line.msg === 'request').map((line) => line.request_id)).toEqual(answered);
      expect(t.rawLogs()).not.toContain(JWT);
      expect(t.rawLogs()).not.toContain(apiKey);
      // A plain trace id is still adopted, so traces join up across services.
      expect((await t.app.inject({ url: '/healthz', headers: { 'x-request-id': 'trace-7f3a-0001' } })).headers['x-request-id']).toBe('trace-7f3a-0001');
      // Nor does the audit log keep it: a failed login is recorded under the fresh id.
      const login = await t.app.inject({ method: 'POST', url: '/v1/auth/login', headers: { 'x-request-id': apiKey }, payload: { email: 'nobody@example.test', password: 'not-the-password-1' } });
      expect(login.statusCode).toBe(401);
      const events = await t.context.storage.db.selectFrom('audit_events').select(['action', 'request_id']).where('action', '=', 'auth.login.failed').execute();
      expect(events).toEqual([{ action: 'auth.login.failed', request_id: login.headers['x-request-id'] }]);
    } finally {
      await t.close();
    }
  });

  it('honours WARDEN_REDACT_DENY_KEYS for the request id binding too', async () => {
    const t = await createTestApp({ env: { WARDEN_REDACT_DENY_KEYS: 'request_id' } });
    try {
      await t.app.inject({ url: '/healthz' });
      expect(t.logs.find((line) => line.msg === 'request')?.request_id).toBe('[REDACTED]');
    } finally {
      await t.close();
    }
  });

  it('leaves ordinary lines, messages and bindings as they were', () => {
    const { log, lines } = captureLogger();
    log.info({ a: 1, nested: { ok: true } }, 'hello %s', 'world');
    log.error(new Error('plain failure'));
    log.error({ err: new Error('inner') }, 'explicit message');
    log.info({ msg: 'own msg field' });
    log.info({ err: 'not an error' });
    log.child({ request_id: 'req-0002', component: 'audit' }).child({ batch: 3 }).warn('child line');
    const [first, second, third, fourth, fifth, sixth] = lines();
    expect(first).toMatchObject({ a: 1, nested: { ok: true }, msg: 'hello world', service: 'warden' });
    expect(second).toMatchObject({ msg: 'plain failure', err: { type: 'Error', message: 'plain failure' } });
    expect(third).toMatchObject({ msg: 'explicit message', err: { message: 'inner' } });
    expect(fourth).toMatchObject({ msg: 'own msg field' });
    expect(fifth).toMatchObject({ err: 'not an error' });
    expect(fifth).not.toHaveProperty('msg');
    expect(sixth).toMatchObject({ request_id: 'req-0002', component: 'audit', batch: 3, msg: 'child line', level: 40 });
  });

  it('redacts the URL in Fastify’s own "reply already sent" warning', async () => {
    const twice: RouteModule = async (app) => {
      app.get('/probe/twice', { config: { public: true } }, async (_request, reply) => {
        await reply.send({ first: true });
        return reply.send({ second: true });
      });
    };
    const t = await createTestApp({ routes: [...ROUTE_MODULES, twice] });
    try {
      const response = await t.app.inject({ url: `/probe/twice?access_token=${PASSWORD}` });
      expect(response.statusCode).toBe(200);
      const warning = t.logs.find((line) => (line.err as { code?: string } | undefined)?.code === 'FST_ERR_REP_ALREADY_SENT');
      expect(warning?.msg).toContain('access_token=[REDACTED:secret_assignment]');
      expect(t.rawLogs()).not.toContain(PASSWORD);
    } finally {
      await t.close();
    }
  });

  it('keeps redactLogValue working for existing callers', () => {
    expect(redactLogValue({ authorization: 'Bearer x', note: 'mail grace@example.com' })).toEqual({
      authorization: '[REDACTED]',
      note: 'mail [REDACTED:email]',
    });
  });
});
