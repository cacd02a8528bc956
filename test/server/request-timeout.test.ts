import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

/**
 * A request, headers and body, must arrive within WARDEN_REQUEST_TIMEOUT_MS (30 s by default):
 * a client that announces a body and then sends it a byte now and then — or not at all — is
 * answered 408 and its connection closed, also after Warden has already refused the request
 * (a 429 still waits for the announced body to drain). Without the bound such sockets stay open
 * for ever and one client can use up the process's file descriptors.
 */
describe('request timeout', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  /** Opens a connection, sends `bytes`, and resolves with what came back once the server closed it. */
  const untilClosed = (port: number, bytes: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString('latin1')));
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
      socket.write(bytes);
    });

  it('is set on the server for headers and body, 30 s by default', async () => {
    t = await createTestApp();
    expect(t.app.server.requestTimeout).toBe(30_000);
    expect(t.app.server.headersTimeout).toBe(30_000);
    expect(t.context.settings.requestTimeoutMs).toBe(30_000);
  });

  it('closes a connection whose announced body does not arrive in time, with 408', async () => {
    t = await createTestApp({ env: { WARDEN_REQUEST_TIMEOUT_MS: '1000' } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (t.app.server.address() as net.AddressInfo).port;
    const answer = await untilClosed(
      port,
      'POST /v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{',
    );
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
    expect(answer).toContain('"code":"request_timeout"');
  }, 20_000);

  it('refuses a value below 1 s or above 10 min', async () => {
    await expect(createTestApp({ env: { WARDEN_REQUEST_TIMEOUT_MS: '0' } })).rejects.toThrow(
      /WARDEN_REQUEST_TIMEOUT_MS/,
    );
  });
});
