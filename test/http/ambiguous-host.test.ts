import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

/**
 * Which host a request is for must be unambiguous before the trusted-host check means anything:
 * - RFC 9112 §3.2: more than one Host is a 400. Node keeps the first and drops the others; a
 *   proxy or cache going by another one would act on a host nobody checked.
 * - RFC 9112 §3.2.2: an absolute-form target's authority is the host the request names. One
 *   that differs from Host is refused; one that agrees is served as usual.
 * Both hold whether or not WARDEN_TRUSTED_HOSTS is set.
 */
let t: TestApp;
let port: number;
async function start(env: Record<string, string>): Promise<void> {
  t = await createTestApp({ env });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  port = (t.app.server.address() as { port: number }).port;
}
afterEach(async () => t.close());

function send(text: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n');
      resolve({ status: Number(head.split(' ')[1]), body });
    });
  });
}

describe.each([
  ['with trusted hosts', { WARDEN_TRUSTED_HOSTS: 'api.example.com' }],
  ['without trusted hosts', {}],
])('the host of a request, %s', (_title, env: Record<string, string>) => {
  beforeEach(async () => start(env));

  it('refuses a request with two Host headers (400 invalid_host), whatever their order', async () => {
    const response = await send(
      'GET /v1/roles HTTP/1.1\r\nHost: api.example.com\r\nHost: evil.example\r\nConnection: close\r\n\r\n',
    );
    expect(response.status).toBe(400);
    expect(response.body).toContain('invalid_host');
  });

  it('checks the authority of an absolute-form request target, not the Host header it overrides', async () => {
    const response = await send(
      'GET http://evil.example/v1/roles HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n\r\n',
    );
    expect(response.status).toBe(400);
    expect(response.body).toContain('invalid_host');
  });

  it('serves an absolute-form target whose authority is the Host', async () => {
    const response = await send(
      'GET http://api.example.com/v1/roles HTTP/1.1\r\nHost: api.example.com\r\nConnection: close\r\n\r\n',
    );
    expect(response.status).toBe(401);
  });
});
