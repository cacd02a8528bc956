import net from 'node:net';

export const TEST_PG_URL = process.env.WARDEN_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const TEST_REDIS_URL = process.env.WARDEN_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

/** True when a TCP connection to host:port opens within the timeout. */
export function reachable(url: string, defaultPort: number, timeoutMs = 1500): Promise<boolean> {
  const parsed = new URL(url);
  const port = parsed.port === '' ? defaultPort : Number(parsed.port);
  return new Promise((resolve) => {
    const socket = net.connect({ host: parsed.hostname, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
