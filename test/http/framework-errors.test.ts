import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ROUTE_MODULES, type RouteModule } from '../../src/server/routes/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

interface Answer {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[] | number | undefined>;
  readonly body: string;
}

/** The response carries Warden's problem document, request id and security headers. */
function expectWardenProblem(response: Answer, status: number, code: string, requestId?: string): void {
  expect(response.statusCode).toBe(status);
  expect(String(response.headers['content-type'])).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(response.body) as Record<string, unknown>;
  expect(body).toMatchObject({ status, code });
  expect(typeof body.type).toBe('string');
  expect(typeof body.title).toBe('string');
  expect(response.body).not.toContain('FST_ERR');
  expect(response.headers['x-request-id']).toBeTruthy();
  if (requestId !== undefined) {
    expect(response.headers['x-request-id']).toBe(requestId);
    expect(body.request_id).toBe(requestId);
  }
  expect(response.headers['content-security-policy']).toBe("default-src 'self'; frame-ancestors 'none'");
  expect(response.headers['x-content-type-options']).toBe('nosniff');
  expect(response.headers['x-frame-options']).toBe('DENY');
  expect(response.headers['referrer-policy']).toBe('no-referrer');
}

/** Parses one HTTP/1.1 response (Content-Length framed) off the front of `data`. */
function parseResponse(data: string): { answer: Answer; rest: string } | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const [statusLine = '', ...lines] = data.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  if (data.length < end + 4 + length) return undefined;
  return {
    answer: { statusCode: Number(statusLine.split(' ')[1]), headers, body: data.slice(end + 4, end + 4 + length) },
    rest: data.slice(end + 4 + length),
  };
}

describe('requests Fastify refuses before any hook runs', () => {
  it('a malformed percent-encoding in the path gets 400 invalid_path as problem+json with security headers and request id', async () => {
    t = await createTestApp();
    const response = await t.app.inject({ url: '/v1/users/%E0%A4%A', headers: { 'x-request-id': 'bad-url-0001' } });
    expectWardenProblem(response, 400, 'invalid_path', 'bad-url-0001');
  });

  it('an over-long path parameter gets 414 invalid_path as problem+json with security headers', async () => {
    t = await createTestApp();
    const response = await t.app.inject({ url: `/v1/users/${'a'.repeat(201)}` });
    expectWardenProblem(response, 414, 'invalid_path');
  });

  it('does not take an unverified X-Forwarded-Proto for HTTPS on them (no HSTS)', async () => {
    t = await createTestApp();
    const response = await t.app.inject({ url: '/v1/users/%E0%A4%A', headers: { 'x-forwarded-proto': 'https' } });
    expect(response.headers['strict-transport-security']).toBeUndefined();
  });
});

describe('requests arriving while the server closes', () => {
  it('a response in flight when the server closes says Connection: close, and its connection closes after it', async () => {
    let release: () => void = () => undefined;
    let started: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const inHandler = new Promise<void>((resolve) => (started = resolve));
    const slowRoute: RouteModule = async (app) => {
      app.get('/v1/probe/slow', { config: { public: true } }, async () => {
        started();
        await slow;
        return { done: true };
      });
    };
    t = await createTestApp({ routes: [...ROUTE_MODULES, slowRoute] });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as AddressInfo;

    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    const answers: Answer[] = [];
    const socketClosed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const failed = new Promise<void>((_resolve, reject) => {
      socket.on('error', reject);
      socket.on('data', (chunk) => {
        data += chunk.toString('utf8');
        for (let parsed = parseResponse(data); parsed !== undefined; parsed = parseResponse(data)) {
          answers.push(parsed.answer);
          data = parsed.rest;
        }
      });
    });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    // A keep-alive connection busy with a slow request is not closed at once by close().
    socket.write('GET /v1/probe/slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await inHandler;
    const closing = t.app.close();
    // A request pipelined behind it after close() began is not answered on this connection.
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: closing-0001\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    // The response in flight says Connection: close and the connection closes after it, so the
    // shutdown does not wait for it; a client retries what it pipelined behind it elsewhere.
    await Promise.race([socketClosed, failed]);
    await closing;
    expect(answers.map((a) => a.statusCode)).toEqual([200]);
    expect(answers[0]?.headers.connection).toBe('close');
  });
});
