/*
 * Graceful shutdown and keep-alive connections: once the service is closing, every response,
 * including the one to a request that was already in flight when SIGTERM came, carries
 * `Connection: close`. Node then closes that socket after the response, so the shutdown ends
 * when the last request is answered instead of waiting out WARDEN_SHUTDOWN_TIMEOUT_MS for an
 * idle keep-alive socket, and the client sends its next request to another instance.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_SECRET_KEY } from '../helpers/app.js';
import { connectionRefused, eventually, spawnService, type SpawnedService } from '../helpers/spawned-service.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function scratch(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-ops-keepalive-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function started(env: Record<string, string>): Promise<{ service: SpawnedService; port: number }> {
  const service = spawnService(env);
  cleanups.push(() => service.kill());
  const [, url] = await service.waitFor(/Warden listening on (\S+)/);
  return { service, port: Number(new URL(url as string).port) };
}

describe('graceful shutdown with a keep-alive client', () => {
  it('answers a request that was in flight at SIGTERM with Connection: close, so the shutdown does not wait out WARDEN_SHUTDOWN_TIMEOUT_MS for an idle keep-alive socket', async () => {
    const dir = scratch();
    const { service, port } = await started({
      WARDEN_DATA_DIR: dir,
      WARDEN_DATABASE_URL: `sqlite:${path.join(dir, 'w.db')}`,
      WARDEN_SECRET_KEY: TEST_SECRET_KEY,
      WARDEN_PORT: '0',
      WARDEN_SHUTDOWN_TIMEOUT_MS: '4000',
    });

    // A keep-alive client (as every reverse proxy is) whose request is in flight: its body is
    // only half sent when the signal arrives.
    const body = JSON.stringify({ email: 'nobody@example.com', password: 'not-the-password-1' });
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (c: Buffer) => (received += c.toString()));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      `POST /v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
    );
    await new Promise((r) => setTimeout(r, 200));

    service.child.kill('SIGTERM');
    // The server has stopped listening: the shutdown is under way.
    expect(await eventually(() => connectionRefused(port))).toBe(true);

    socket.write(body.slice(5));
    expect(await eventually(async () => received.includes('\r\n\r\n'))).toBe(true);
    const head = received.slice(0, received.indexOf('\r\n\r\n'));
    expect(head).toMatch(/^HTTP\/1\.1 401 /);
    // The response to the in-flight request must tell the client not to reuse the connection:
    // otherwise the socket stays open, idle, until the shutdown timeout closes it.
    expect.soft(head).toMatch(/^connection: close$/im);

    const exit = await service.exited;
    expect(exit.code).toBe(0);
    // Every request had finished: the graceful shutdown must not have needed its timeout.
    expect.soft(service.out()).not.toContain('graceful shutdown timed out');
    socket.destroy();
  });
});
