import type { Command } from 'commander';
import { CHECKPOINT_KEY_PURPOSE, exportEvents, pruneEvents, queryEvents, timeRange, verifyChain, type AuditFilter } from '../../audit/index.js';
import { loadSettings } from '../../config/index.js';
import { deriveKey } from '../../crypto/derive-key.js';
import type { Storage } from '../../storage/index.js';
import { CliFailure, type CliIo } from '../cli-io.js';
import { EXIT } from '../exit-codes.js';
import { withCheckedDatabase } from '../../server/secret-key-check.js';

interface FilterFlags {
  action?: string;
  actor?: string;
  entityType?: string;
  entityId?: string;
  outcome?: string;
  since?: string;
  until?: string;
  hours?: string;
}

/** `warden audit verify|query|export|prune`: chain verification, queries, SIEM export and retention. */
export function registerAudit(program: Command, io: CliIo, run: (work: () => Promise<number | void>) => Promise<void>): void {
  const audit = program.command('audit').description('verify, query, export and prune the audit log');

  audit
    .command('verify')
    .description('walk the hash chain and its signed checkpoints; exit 1 at the first broken link')
    .option('--json', 'print the full report as JSON')
    .action((options: { json?: boolean }) =>
      run(() =>
        withAudit(async ({ storage, checkpointKey }) => {
          const report = await verifyChain(storage.db, { checkpointKey });
          if (options.json === true) io.out(JSON.stringify(report));
          else if (report.valid) {
            io.out(`audit chain valid: ${report.checked_events} events (seq ${report.first_seq}..${report.last_seq}), ${report.checked_checkpoints} signed checkpoints`);
            // Events up to there were written before heads were signed: a cut tail among them cannot be seen.
            if (report.legacy_through_seq !== null) io.out(`note: seq ${report.first_seq}..${report.legacy_through_seq} predate signed heads (migration 0010); they were taken over as found`);
          }
          else {
            const brk = report.first_broken;
            io.out(`audit chain BROKEN at seq ${brk?.seq ?? '?'} (id ${brk?.id ?? 'missing'}): ${brk?.reason ?? 'unknown'}`);
          }
          return report.valid ? EXIT.ok : EXIT.failure;
        }),
      ),
    );

  withFilterFlags(audit.command('query').description('print matching events, newest first, one JSON object per line'))
    .option('--limit <n>', 'events per page (1-500)', '50')
    .option('--cursor <cursor>', 'the next_cursor printed by the previous page')
    .action((options: FilterFlags & { limit: string; cursor?: string }) =>
      run(() =>
        withAudit(async ({ storage }) => {
          const limit = integerFlag(options.limit, '--limit', 1, 500);
          const page = await queryEvents(storage.db, toFilter(options), options.cursor === undefined ? { limit } : { limit, cursor: options.cursor });
          for (const event of page.data) io.out(JSON.stringify(event));
          if (page.next_cursor !== null) io.err(`next cursor: ${page.next_cursor}`);
          return EXIT.ok;
        }),
      ),
    );

  withFilterFlags(audit.command('export').description('write matching events oldest first for SIEM ingestion'))
    .option('--format <format>', 'output format (jsonl)', 'jsonl')
    .action((options: FilterFlags & { format: string }) =>
      run(() =>
        withAudit(async ({ storage }) => {
          if (options.format !== 'jsonl') throw new CliFailure(`unsupported export format ${options.format} (use jsonl)`, EXIT.usage);
          for await (const event of exportEvents(storage.db, toFilter(options))) io.out(JSON.stringify(event));
          return EXIT.ok;
        }),
      ),
    );

  audit
    .command('prune')
    .description('delete events older than DATE, keeping verification possible (signed checkpoint; itself audited)')
    .requiredOption('--before <date>', 'ISO 8601 date or date-time; events strictly older are deleted')
    .action((options: { before: string }) =>
      run(() =>
        withAudit(async ({ storage, checkpointKey }) => {
          const before = Date.parse(options.before);
          if (!Number.isFinite(before)) throw new CliFailure('--before must be an ISO 8601 date or date-time', EXIT.usage);
          const result = await pruneEvents(storage.db, { before, actor: 'cli', checkpointKey, now: Date.now() });
          io.out(result.deleted === 0 ? 'nothing to prune' : `pruned ${result.deleted} events (through seq ${result.through_seq})`);
          return EXIT.ok;
        }),
      ),
    );
}

function withFilterFlags(command: Command): Command {
  return command
    .option('--action <action>', 'e.g. auth.login.failed')
    .option('--actor <actor>', 'user id, apikey:<id>, client:<id>, system…')
    .option('--entity-type <type>')
    .option('--entity-id <id>')
    .option('--outcome <outcome>', 'success | failure | denied')
    .option('--since <time>', 'ISO 8601 or epoch ms (inclusive)')
    .option('--until <time>', 'ISO 8601 or epoch ms (exclusive)')
    .option('--hours <n>', 'only the last N hours');
}

function toFilter(flags: FilterFlags): AuditFilter {
  const range = timeRange(
    {
      ...(flags.since === undefined ? {} : { since: flags.since }),
      ...(flags.until === undefined ? {} : { until: flags.until }),
      ...(flags.hours === undefined ? {} : { hours: integerFlag(flags.hours, '--hours', 1, 24 * 366) }),
    },
    Date.now(),
  );
  const filter: Record<string, string | number> = { ...range };
  if (flags.action !== undefined) filter.action = flags.action;
  if (flags.actor !== undefined) filter.actor = flags.actor;
  if (flags.entityType !== undefined) filter.entity_type = flags.entityType;
  if (flags.entityId !== undefined) filter.entity_id = flags.entityId;
  if (flags.outcome !== undefined) filter.outcome = flags.outcome;
  return filter as AuditFilter;
}

function integerFlag(value: string, name: string, min: number, max: number): number {
  const n = /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= min && n <= max)) throw new CliFailure(`${name} must be an integer from ${min} to ${max}`, EXIT.usage);
  return n;
}

/**
 * Opens the configured database with the checkpoint key derived from WARDEN_SECRET_KEY, after
 * the root-secret fingerprint check: a foreign key would sign prune checkpoints that never verify.
 */
async function withAudit(work: (audit: { storage: Storage; checkpointKey: Uint8Array }) => Promise<number>): Promise<number> {
  const { settings } = loadSettings({ generateDevSecrets: false });
  const secretKey = settings.secretKey;
  if (secretKey === undefined) throw new CliFailure('WARDEN_SECRET_KEY is needed to check and sign audit checkpoints', EXIT.config);
  return withCheckedDatabase(settings, secretKey, (storage) => work({ storage, checkpointKey: deriveKey(secretKey, CHECKPOINT_KEY_PURPOSE) }));
}
