import type { Command } from 'commander';
import { secretManagerFromEnv } from '../../secrets/secret-manager-from-settings.js';
import type { CliIo } from '../cli-io.js';

type Run = (work: () => Promise<number | void>) => Promise<void>;

/** `warden secrets get NAME` and `warden secrets list [PREFIX]` through the configured providers. */
export function registerSecrets(program: Command, io: CliIo, run: Run): void {
  const secrets = program.command('secrets').description('read secrets through the configured providers (WARDEN_SECRETS_PROVIDER)');

  secrets
    .command('get')
    .description('print one secret (NAME#a.b reads a field of a JSON secret); a missing secret exits 1 and names it')
    .argument('<name>', 'secret name')
    .action((name: string) =>
      run(async () => {
        io.out(await secretManagerFromEnv().get(name));
      }),
    );

  secrets
    .command('list')
    .description('list secret names (never values), optionally only those starting with PREFIX')
    .argument('[prefix]', 'name prefix', '')
    .action((prefix: string) =>
      run(async () => {
        for (const name of await secretManagerFromEnv().list(prefix)) io.out(name);
      }),
    );
}
