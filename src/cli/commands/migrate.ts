import type { Command } from 'commander';
import { migrateToLatest, migrationStatus, openDatabase } from '../../storage/index.js';
import type { CliIo } from '../cli-io.js';
import { loadCliSettings } from '../cli-settings.js';
import { EXIT } from '../exit-codes.js';

/** `warden migrate [--status]`: applies pending migrations, or lists applied and pending ones. */
export function registerMigrate(program: Command, io: CliIo, run: (work: () => Promise<number | void>) => Promise<void>): void {
  program
    .command('migrate')
    .description('apply pending database migrations (they also run on every start)')
    .option('--status', 'list applied and pending migrations; exit 1 if any is pending')
    .action((options: { status?: boolean }) =>
      run(async () => {
        // As the service loads them (secrets from the provider included); migrating needs no root secret, so none is generated.
        const { settings } = await loadCliSettings(io, { devSecrets: 'read' });
        const storage = openDatabase(settings.databaseUrl, {
          poolSize: 2,
          statementTimeoutMs: settings.dbStatementTimeoutMs,
        });
        try {
          await storage.ping();
          if (options.status === true) {
            const status = await migrationStatus(storage);
            for (const m of status) {
              io.out(`${m.executedAt === undefined ? 'pending ' : 'applied '} ${m.name}${m.executedAt === undefined ? '' : `  ${m.executedAt.toISOString()}`}`);
            }
            return status.some((m) => m.executedAt === undefined) ? EXIT.failure : EXIT.ok;
          }
          const applied = await migrateToLatest(storage);
          io.out(applied.length === 0 ? 'database is up to date' : `applied ${applied.length}: ${applied.join(', ')}`);
          return EXIT.ok;
        } finally {
          await storage.close();
        }
      }),
    );
}
