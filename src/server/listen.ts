import type { FastifyInstance } from 'fastify';
import { LISTEN_URL_LOG_KEY } from '../http/logger-options.js';

type LogFunction = (this: unknown, ...args: unknown[]) => void;

/**
 * `app.listen`, with each address Fastify binds logged as a structured field,
 * `{"listen_url":"http://127.0.0.1:8080","msg":"server listening"}`, in place of Fastify's own
 * line `Server listening at http://127.0.0.1:8080`. The log redaction masks IP addresses in
 * message text (it cannot tell the server's own address from a client's), so Fastify's line
 * reached the log as `http://[REDACTED:ipv4]:8080`; `listen_url` is a field the redaction keeps
 * verbatim (logger-options.ts), and nothing but this function writes it.
 *
 * Fastify has no option to leave its line out: it logs whatever `listenTextResolver` returns with
 * `app.log.info(text)`. So for the duration of the call `app.log.info` turns exactly the texts
 * the resolver made into the structured line and passes every other call through unchanged.
 * Returns the addresses, as Fastify reports them (several for `localhost` or `0.0.0.0`).
 */
export async function listenAndLogAddress(app: FastifyInstance, options: { readonly host: string; readonly port: number }): Promise<string[]> {
  // Plugins' onReady hooks run here, with app.log as it always is.
  await app.ready();
  const log = app.log as unknown as Record<'info', LogFunction>;
  const hadOwnInfo = Object.hasOwn(log, 'info');
  const info = log.info;
  const addressOf = new Map<string, string>();
  const addresses: string[] = [];
  log.info = function (this: unknown, ...args: unknown[]): void {
    const address = args.length === 1 && typeof args[0] === 'string' ? addressOf.get(args[0]) : undefined;
    if (address === undefined) info.apply(log, args);
    else info.call(log, { [LISTEN_URL_LOG_KEY]: address }, 'server listening');
  };
  try {
    await app.listen({
      host: options.host,
      port: options.port,
      listenTextResolver: (address) => {
        const text = `Server listening at ${address}`;
        addresses.push(address);
        addressOf.set(text, address);
        return text;
      },
    });
  } finally {
    // pino keeps its level methods on the instance itself, the lazy logger on its prototype.
    if (hadOwnInfo) log.info = info;
    else delete (log as Partial<typeof log>).info;
  }
  return addresses;
}
