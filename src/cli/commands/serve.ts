import type { Command } from 'commander';
import { loadSettings } from '../../config/index.js';
import { resolveServiceSecrets } from '../../secrets/resolve-service-secrets.js';
import { shutDownOnCrash } from '../../server/crash-shutdown.js';
import { startServer, type RunningServer } from '../../server/start-server.js';
import { CliFailure, OutputClosed, type CliIo } from '../cli-io.js';
import { EXIT } from '../exit-codes.js';

/** `warden serve`: runs the HTTP service until SIGTERM/SIGINT. */
export function registerServe(program: Command, io: CliIo, run: (work: () => Promise<number | void>) => Promise<void>): void {
  program
    .command('serve')
    .description('run the Warden HTTP service (configuration from the environment, NAME_FILE files and .env)')
    .option('--host <host>', 'address to listen on (overrides WARDEN_HOST)')
    .option('--port <port>', 'port to listen on (overrides WARDEN_PORT)')
    .option('--env-file <path>', 'read this .env file instead of ./.env')
    .action((options: { host?: string; port?: string; envFile?: string }) =>
      run(async () => {
        // WARDEN_SECRET_KEY, WARDEN_ENCRYPTION_KEY… may live in Vault/AWS/files (docs/secrets.md).
        const fromProviders = await resolveServiceSecrets(options.envFile === undefined ? {} : { envFile: options.envFile });
        const loaded = loadSettings({
          args: { WARDEN_HOST: options.host, WARDEN_PORT: options.port },
          providerSecrets: fromProviders,
          ...(options.envFile === undefined ? {} : { envFile: options.envFile }),
        });
        let server: RunningServer;
        try {
          server = await startServer(loaded, { print: bannerPrinter(io) });
        } catch (error) {
          throw listenFailure(error, loaded.settings.host, loaded.settings.port) ?? error;
        }
        shutDownOnCrash(server);
        // Keep running: the signal handlers installed by startServer end the process.
        await new Promise<never>(() => undefined);
      }),
    );
}

/**
 * Prints the start-up banner to stdout, skipping it once stdout's reader has gone (`warden serve
 * | head -2`, a log collector that died): the banner only informs, and a service that could not
 * print it must run (and stop on a signal) all the same.
 */
function bannerPrinter(io: CliIo): (line: string) => void {
  return (line) => {
    try {
      io.out(line);
    } catch (error) {
      if (!(error instanceof OutputClosed)) throw error;
    }
  };
}

/**
 * The one-line explanation of a failure to listen, or undefined for any other error. A port in
 * use or one that needs privileges is the operating system refusing a resource (71, EX_OSERR);
 * an address this machine does not have, or a name that does not resolve, is a wrong
 * WARDEN_HOST (78).
 */
function listenFailure(error: unknown, host: string, port: number): CliFailure | undefined {
  const { syscall, code } = (error ?? {}) as NodeJS.ErrnoException;
  if (syscall === 'getaddrinfo' && (code === 'ENOTFOUND' || code === 'EAI_AGAIN')) {
    return new CliFailure(`WARDEN_HOST ${host} cannot be resolved (${code}): use an address of this machine, 127.0.0.1 or 0.0.0.0`, EXIT.config);
  }
  if (syscall !== 'listen') return undefined;
  const where = `port ${port} on ${host}`;
  switch (code) {
    case 'EADDRINUSE':
      return new CliFailure(`${where} is already in use: stop what listens there or choose another with --port or WARDEN_PORT`, EXIT.osError);
    case 'EACCES':
    case 'EPERM':
      return new CliFailure(`${where} may not be used by this user (ports below 1024 need privileges): choose another with --port or WARDEN_PORT`, EXIT.osError);
    case 'EADDRNOTAVAIL':
      return new CliFailure(`${host} is not an address of this machine: set WARDEN_HOST (or --host) to one of its addresses, 127.0.0.1 or 0.0.0.0`, EXIT.config);
    default:
      return undefined;
  }
}
