import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import {
  MIGRATIONS,
  migrateDatabase,
  migrationStatementTimeoutMs,
  migrationStatus,
  openDatabase,
  unknownMigrationsWarning,
} from '../../storage/index.js';
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
        const missing = options.status === true ? missingSqliteFile(settings.databaseUrl) : undefined;
        if (missing !== undefined) {
          // A status query only reads: opening the file would create it (and its directories),
          // and a mistyped path or an unmounted volume would pass for a fresh database.
          io.err(`warden: no database yet: ${missing} does not exist (\`warden migrate\` creates it); every migration is pending`);
          for (const name of MIGRATIONS.map((m) => m.name).sort()) io.out(`pending  ${name}`);
          return EXIT.failure;
        }
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

/** The file of a sqlite: URL when it does not exist (undefined for PostgreSQL, :memory: or an existing file). */
function missingSqliteFile(databaseUrl: string): string | undefined {
  if (!databaseUrl.startsWith('sqlite:')) return undefined;
  const file = databaseUrl.slice('sqlite:'.length);
  return file === ':memory:' || existsSync(file) ? undefined : file;
}
