/*
 * The hardening layer while the app closes: a request answered after closing began (it was in
 * flight when app.close() was called) gets `Connection: close`, so its keep-alive socket is
 * closed after the response rather than left idle until the shutdown timeout. Before closing,
 * responses keep the connection alive as usual.
 */
import net, { type AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { hardening } from '../../src/http/hardening.js';
import { connectionRefused, eventually } from '../helpers/spawned-service.js';

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** Sends one raw keep-alive GET and resolves with the response head once it has arrived. */
function headOf(socket: net.Socket, path: string): Promise<string> {
  return new Promise((resolve) => {
    let received = '';
    const onData = (chunk: Buffer): void => {
      received += chunk.toString();
      const end = received.indexOf('\r\n\r\n');
      if (end !== -1) {
        socket.off('data', onData);
        resolve(received.slice(0, end));
      }
    };
    socket.on('data', onData);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n`);
  });
}

describe('hardening while closing', () => {
  it('answers a request that was in flight when closing began with Connection: close', async () => {
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let arrived: () => void = () => undefined;
    const inFlight = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    app = Fastify();
    await app.register(hardening);
    app.get('/quick', async () => ({ ok: true }));
    app.get('/slow', async () => {
      arrived();
      await released;
      return { ok: true };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    try {
      const before = await headOf(socket, '/quick');
      expect(before).toMatch(/^HTTP\/1\.1 200 /);
      expect(before).not.toMatch(/^connection: close$/im);

      const slow = headOf(socket, '/slow');
      await inFlight;
      const closing = app.close();
      // Closing has begun once the server stops accepting connections.
      expect(await eventually(() => connectionRefused(port))).toBe(true);
      release();
      const head = await slow;
      expect(head).toMatch(/^HTTP\/1\.1 200 /);
      expect(head).toMatch(/^connection: close$/im);
      await closing;
      app = undefined;
    } finally {
      socket.destroy();
    }
  });
});
