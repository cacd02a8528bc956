import net from 'node:net';

/** A TCP proxy in front of the shared Redis that a test can cut, black-hole and restore. */
export interface TcpProxy {
  readonly url: string;
  /** Drops every connection and refuses new ones (Redis "down"). */
  cut(): Promise<void>;
  /** Keeps connections open but never forwards a byte (Redis "hung"). */
  blackhole(): void;
  /** Accepts and forwards again. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a proxy on a free local port forwarding to `target` (a redis:// URL). */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const upstream = new URL(target);
  const sockets = new Set<net.Socket>();
  let forwarding = true;
  let port = 0;
  const server = net.createServer((client) => {
    const remote = net.connect({ host: upstream.hostname, port: Number(upstream.port || 6379) });
    sockets.add(client).add(remote);
    client.on('data', (chunk) => {
      if (forwarding) remote.write(chunk);
    });
    remote.on('data', (chunk) => {
      if (forwarding) client.write(chunk);
    });
    const end = (): void => {
      client.destroy();
      remote.destroy();
      sockets.delete(client);
      sockets.delete(remote);
    };
    client.on('close', end).on('error', end);
    remote.on('close', end).on('error', end);
  });
  const listen = (): Promise<void> => new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  await listen();
  port = (server.address() as net.AddressInfo).port;
  const closeServer = (): Promise<void> => new Promise((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
  return {
    url: `redis://127.0.0.1:${port}${upstream.pathname}`,
    async cut() {
      const closing = closeServer();
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      await closing;
    },
    blackhole() {
      forwarding = false;
    },
    async restore() {
      forwarding = true;
      if (!server.listening) await listen();
    },
    async close() {
      const closing = closeServer();
      for (const socket of sockets) socket.destroy();
      await closing;
    },
  };
}
