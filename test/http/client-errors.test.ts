import net, { type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { clientErrorHandler } from '../../src/http/error-handler.js';
import { securityHeaderTable } from '../../src/http/security-headers.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

const TABLE = securityHeaderTable({ contentSecurityPolicy: "default-src 'self'; frame-ancestors 'none'", hstsMaxAge: 0 });
// Put into each refused request, so that an echo of the input would show.
const MARK = 'mark-7f3a9c';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

interface RawAnswer {
  readonly status: number;
  readonly headers: Map<string, string[]>;
  readonly body: string;
  readonly raw: string;
}

/** Writes bytes to the listening app and reads until the server closes the connection. */
function exchange(bytes: Buffer): Promise<RawAnswer> {
  const { port } = t?.app.server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // The server destroys the socket after its answer; unread request bytes may make that a reset.
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? undefined : reject(error)));
    socket.on('close', () => {
      const raw = Buffer.concat(chunks).toString('latin1');
      const end = raw.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = raw.slice(0, end).split('\r\n');
      const headers = new Map<string, string[]>();
      for (const line of lines) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).toLowerCase();
        headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: raw.slice(end + 4), raw });
    });
    socket.write(bytes);
  });
}

const cases: { name: string; request: Buffer; status: number; detail: RegExp; code?: string }[] = [
  {
    name: 'Content-Length together with Transfer-Encoding',
    request: Buffer.from(
      `POST /v1/auth/login?${MARK} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
      'latin1',
    ),
    status: 400,
    detail: /not well-formed HTTP/,
  },
  {
    name: 'a control character in a header value',
    request: Buffer.from(`GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Probe: ${MARK}\x01b\r\n\r\n`, 'latin1'),
    status: 400,
    detail: /not well-formed HTTP/,
  },
  {
    name: 'DEL (0x7f) in the path',
    request: Buffer.from(`GET /he\x7flthz/${MARK} HTTP/1.1\r\nHost: localhost\r\n\r\n`, 'latin1'),
    status: 400,
    detail: /not well-formed HTTP/,
  },
  {
    name: 'a raw 0xff byte in the query string',
    request: Buffer.from(`GET /healthz?a=\xff${MARK} HTTP/1.1\r\nHost: localhost\r\n\r\n`, 'latin1'),
    status: 400,
    detail: /not well-formed HTTP/,
  },
  {
    name: 'a raw control character in the query string',
    request: Buffer.from(`GET /v1/audit?actor=\x01${MARK} HTTP/1.1\r\nHost: localhost\r\n\r\n`, 'latin1'),
    status: 400,
    detail: /not well-formed HTTP/,
  },
  {
    name: 'chunk extensions over the size limit',
    request: Buffer.from(
      `POST /v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2;${MARK}=${'e'.repeat(20_000)}\r\n{}\r\n0\r\n\r\n`,
      'latin1',
    ),
    status: 413,
    detail: /chunk extensions/,
    code: 'payload_too_large',
  },
  {
    name: 'headers over the size limit',
    request: Buffer.from(`GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ${MARK}${'a'.repeat(20_000)}\r\n\r\n`, 'latin1'),
    status: 431,
    detail: /headers exceed the size limit/,
    code: 'request_headers_too_large',
  },
];

describe('requests Node’s HTTP parser refuses (a listening server, raw sockets)', () => {
  it.each(cases)('$name → $status problem+json with the security headers and Connection: close', async ({ request, status, detail, code }) => {
    t = await createTestApp({ env: { WARDEN_LOG_LEVEL: 'debug' } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const answer = await exchange(request);

    expect(answer.status).toBe(status);
    expect(answer.headers.get('content-type')).toEqual(['application/problem+json; charset=utf-8']);
    expect(answer.headers.get('connection')).toEqual(['close']);
    for (const [name, value] of Object.entries(TABLE)) expect(answer.headers.get(name), name).toEqual([value]);
    expect(answer.headers.get('content-length')).toEqual([String(Buffer.byteLength(answer.body))]);
    const body = JSON.parse(answer.body) as Record<string, unknown>;
    expect(body).toMatchObject({ status, code: code ?? 'invalid_request' });
    expect(String(body.detail)).toMatch(detail);
    expect(answer.headers.get('x-request-id')).toEqual([body.request_id]);
    // Nothing of the refused bytes comes back or lands in the log (debug level included).
    expect(answer.raw).not.toContain(MARK);
    expect(t.logs.some((line) => line.msg === 'client error' && line.request_id === body.request_id)).toBe(true);
    expect(t.rawLogs()).not.toContain(MARK);

    // The server keeps serving.
    const healthy = await exchange(Buffer.from('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'));
    expect(healthy.status).toBe(200);
  });
});

describe('a HTTP/1.1 request without a Host header (a listening server, raw sockets)', () => {
  it('is a 400 invalid_host problem+json with the security headers; HTTP/1.0 without Host, and an empty Host, are served', async () => {
    t = await createTestApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const answer = await exchange(Buffer.from('GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n'));
    expect(answer.status).toBe(400);
    expect(answer.headers.get('content-type')).toEqual(['application/problem+json; charset=utf-8']);
    for (const [name, value] of Object.entries(TABLE)) expect(answer.headers.get(name), name).toEqual([value]);
    expect(JSON.parse(answer.body)).toMatchObject({ status: 400, code: 'invalid_host', detail: 'The Host header is missing' });
    expect((await exchange(Buffer.from('GET /healthz HTTP/1.0\r\n\r\n'))).status).toBe(200);
    // An empty Host is a valid 1.1 header (RFC 9112 §3.2), as Node's own check has it.
    expect((await exchange(Buffer.from('GET /healthz HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n'))).status).toBe(200);
  });
});

/** A socket stand-in that records what the handler does with it. */
function fakeSocket(state: { writable?: boolean; destroyed?: boolean; inFlight?: { _headerSent: boolean } } = {}): Socket & { written: string[]; destroyCalls: number } {
  const socket = {
    writable: state.writable ?? true,
    destroyed: state.destroyed ?? false,
    _httpMessage: state.inFlight ?? null,
    written: [] as string[],
    destroyCalls: 0,
    write(data: string) {
      socket.written.push(data);
      return true;
    },
    destroy() {
      socket.destroyCalls += 1;
    },
  };
  return socket as unknown as Socket & { written: string[]; destroyCalls: number };
}

const connectionError = (code: string): Error & { code: string } => Object.assign(new Error(`client error ${code}`), { code });

describe('clientErrorHandler', () => {
  const handle = clientErrorHandler(TABLE, { debug: vi.fn() } as never);

  it('answers a timeout with 408', () => {
    const socket = fakeSocket();
    handle(connectionError('ERR_HTTP_REQUEST_TIMEOUT'), socket);
    expect(socket.written[0]).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(socket.written[0]).toContain('"code":"request_timeout"');
    expect(socket.destroyCalls).toBe(1);
  });

  it('leaves a reset or destroyed connection alone', () => {
    const reset = fakeSocket();
    handle(connectionError('ECONNRESET'), reset);
    const gone = fakeSocket({ destroyed: true });
    handle(connectionError('HPE_INVALID_METHOD'), gone);
    expect([reset.written, gone.written]).toEqual([[], []]);
    expect(reset.destroyCalls + gone.destroyCalls).toBe(0);
  });

  it('writes nothing into a response already under way on the socket, and still closes it', () => {
    const busy = fakeSocket({ inFlight: { _headerSent: true } });
    handle(connectionError('HPE_INVALID_METHOD'), busy);
    expect(busy.written).toEqual([]);
    expect(busy.destroyCalls).toBe(1);
    const notStarted = fakeSocket({ inFlight: { _headerSent: false } });
    handle(connectionError('HPE_INVALID_METHOD'), notStarted);
    expect(notStarted.written).toHaveLength(1);
  });

  it('refuses a header table that would inject a header', () => {
    expect(() => clientErrorHandler({ 'x-evil': 'a\r\nset-cookie: s=1' }, { debug: vi.fn() } as never)).toThrow();
  });
});
