import net, { type AddressInfo } from 'node:net';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { seedUser, STRONG_PASSWORD } from '../identity/identity-helpers.js';

/**
 * Content-Type is a singleton field (RFC 9110 §8.3). A request with two is refused (400), as
 * one with two Host or two Authorization headers is: Node keeps the first, and a proxy or WAF
 * going by the other would inspect the body as something else than what is parsed here.
 */
let t: TestApp;
let port: number;
beforeEach(async () => {
  t = await createTestApp();
  await seedUser(t, { email: 'dup@example.test' });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  port = (t.app.server.address() as AddressInfo).port;
});
afterEach(async () => t.close());

function send(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('end', () => resolve(data));
  });
}

it('refuses a request with two Content-Type headers (400), as it refuses two Host headers', async () => {
  const body = JSON.stringify({ email: 'dup@example.test', password: STRONG_PASSWORD });
  const answer = await send(
    `POST /v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  expect(answer.split(' ')[1]).toBe('400');
  expect(answer).not.toContain('access_token');
});
