import type { Command } from 'commander';
import { migrateDatabase, migrationStatementTimeoutMs, migrationStatus, openDatabase, unknownMigrationsWarning } from '../../storage/index.js';
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
          statementTimeoutMs:
            options.status === true ? settings.dbStatementTimeoutMs : migrationStatementTimeoutMs(settings.databaseUrl, settings.dbStatementTimeoutMs),
        });
        try {
          await storage.ping();
          if (options.status === true) {
            const status = await migrationStatus(storage);
            for (const m of status) {
              const when = m.executedAt === undefined ? '' : `  ${m.executedAt.toISOString()}`;
              // Applied by a newer build during a rolling upgrade: this one runs on that schema.
              const newer = m.known ? '' : '  (from a newer build of Warden)';
              io.out(`${m.executedAt === undefined ? 'pending ' : 'applied '} ${m.name}${when}${newer}`);
            }
            return status.some((m) => m.executedAt === undefined) ? EXIT.failure : EXIT.ok;
          }
          const outcome = await migrateDatabase(storage);
          if (outcome.unknown.length > 0) io.err(`warden: warning: ${unknownMigrationsWarning(outcome.unknown)}`);
          io.out(outcome.applied.length === 0 ? 'database is up to date' : `applied ${outcome.applied.length}: ${outcome.applied.join(', ')}`);
          return EXIT.ok;
        } finally {
          await storage.close();
        }
      }),
    );
}
