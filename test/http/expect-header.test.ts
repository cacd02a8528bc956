import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

/** Sends raw bytes and collects what comes back until the server has answered (or closed). */
function exchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      // A complete chunked or sized response: enough for these checks.
      if (/\r\n\r\n/.test(received) && (/\r\n0\r\n\r\n$/.test(received) || /content-length: \d+/i.test(received))) socket.end();
    });
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
    socket.write(bytes);
  });
}

/**
 * A request whose `Expect` is not `100-continue` is refused before any route runs, as Node
 * does, but like every other error answer: problem+json `expectation_failed` 417 with the
 * security headers and a request id, and the connection closed.
 */
describe('answers Node gives by itself', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await createTestApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers an unsupported Expect header with problem+json 417 and a request id, like every other error', async () => {
    const response = await exchange(
      port,
      'POST /v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nExpect: 200-ok\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}',
    );
    expect(response.split('\r\n')[0]).toBe('HTTP/1.1 417 Expectation Failed');
    expect(response).toMatch(/\r\ncontent-type: application\/problem\+json/i);
    expect(response).toMatch(/\r\nx-request-id: /i);
    expect(response).toMatch(/\r\nx-content-type-options: nosniff/i);
    expect(response).toContain('"code":"expectation_failed"');
  });
});
