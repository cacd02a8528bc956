import type { Command } from 'commander';
import { loadSettings } from '../../config/index.js';
import { resolveServiceSecrets } from '../../secrets/resolve-service-secrets.js';
import { startServer } from '../../server/start-server.js';
import type { CliIo } from '../cli-io.js';

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
          args: { ...fromProviders, WARDEN_HOST: options.host, WARDEN_PORT: options.port },
          ...(options.envFile === undefined ? {} : { envFile: options.envFile }),
        });
        await startServer(loaded, { print: io.out });
        // Keep running: the signal handlers installed by startServer end the process.
        await new Promise<never>(() => undefined);
      }),
    );
}
