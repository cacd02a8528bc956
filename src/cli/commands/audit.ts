import os from 'node:os';
import type { Command } from 'commander';
import {
  acknowledgementReason,
  acknowledgeUnverified,
  CHECKPOINT_KEY_PURPOSE,
  exportEvents,
  planAcknowledgement,
  parseAuditTime,
  pruneEvents,
  queryEvents,
  timeRange,
  verifyChain,
  type AuditFilter,
  type UnverifiedMark,
  type VerifyReport,
} from '../../audit/index.js';
import { deriveKey } from '../../crypto/derive-key.js';
import { WardenError } from '../../errors/index.js';
import type { Storage } from '../../storage/index.js';
import { CliFailure, outPaced, type CliIo } from '../cli-io.js';
import { cursorFlag } from '../cursor-flag.js';
import { loadCliSettings } from '../cli-settings.js';
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

/** Lines listing marks or acknowledgements before the rest is summarised (a long rolling upgrade can leave thousands). */
const MAX_LISTED = 20;

/** `warden audit verify|acknowledge-unverified|query|export|prune`: chain verification, queries, SIEM export and retention. */
export function registerAudit(program: Command, io: CliIo, run: (work: () => Promise<number | void>) => Promise<void>): void {
  const audit = program.command('audit').description('verify, acknowledge, query, export and prune the audit log');

  audit
    .command('verify')
    .description('walk the hash chain and its signed checkpoints; exit 1 at the first broken link')
    .option('--json', 'print the full report as JSON')
    .action((options: { json?: boolean }) =>
      run(() =>
        withAudit(io, async ({ storage, checkpointKey }) => {
          const report = await verifyChain(storage.db, { checkpointKey });
          if (options.json === true) io.out(JSON.stringify(report));
          else if (report.valid) {
            io.out(`audit chain valid: ${report.checked_events} events (seq ${report.first_seq}..${report.last_seq}), ${report.checked_checkpoints} signed checkpoints`);
            // Events up to there were written before heads were signed: a cut tail among them cannot
            // be seen. Once a prune has removed all of them, there is nothing left to warn about.
            if (report.legacy_through_seq !== null && report.legacy_through_seq >= report.first_seq) {
              io.out(`note: seq ${report.first_seq}..${report.legacy_through_seq} predate signed heads (migration 0010); they were taken over as found`);
            }
            printAcknowledged(io, report);
          }
          else {
            const brk = report.first_broken;
            io.out(`audit chain BROKEN at seq ${brk?.seq ?? '?'} (id ${brk?.id ?? 'missing'}): ${brk?.reason ?? 'unknown'}`);
            printAcknowledged(io, report);
          }
          return report.valid ? EXIT.ok : EXIT.failure;
        }),
      ),
    );

  audit
    .command('acknowledge-unverified')
    .description(
      "accept the 'unverified' marks at or below a seq once a human has checked them (e.g. a rolling upgrade across migration 0010): " +
        'writes a signed checkpoint and an audit event; verification then lists them instead of failing',
    )
    .requiredOption('--through-seq <seq>', 'acknowledge every unacknowledged mark at or below this seq, none above it')
    .requiredOption('--reason <text>', 'why they are accepted, on one line (stored in the audit log; no secrets)')
    .option('--dry-run', 'only show what would be acknowledged')
    .action((options: { throughSeq: string; reason: string; dryRun?: boolean }) =>
      run(() => {
        // Flags first: a wrong one is exit 2 whatever state the database is in.
        const throughSeq = integerFlag(options.throughSeq, '--through-seq', 1, Number.MAX_SAFE_INTEGER);
        const reason = usageChecked(() => acknowledgementReason(options.reason));
        return withAudit(io, async ({ storage, checkpointKey }) => {
          const plan = await planAcknowledgement(storage.db, throughSeq, checkpointKey);
          const later = plan.later.length === 0 ? '' : ` (${plan.later.length} above it, which this would not cover)`;
          if (plan.marks.length === 0) throw new CliFailure(`no unacknowledged 'unverified' checkpoint at or below seq ${throughSeq}${later}; nothing was written`);
          io.out(`unverified heads at or below seq ${throughSeq} (an append found the head row there without a valid signature):`);
          printList(io, plan.marks.map((m) => `  ${describeMark(m)}`), (n) => `  … and ${n} more`);
          if (plan.later.length > 0) io.out(`note: ${plan.later.length} unverified marks above seq ${throughSeq} stay unacknowledged; verification keeps failing on them`);
          if (options.dryRun === true) {
            io.out('dry run: nothing was written');
            return EXIT.ok;
          }
          const result = await acknowledgeUnverified(storage.db, {
            throughSeq,
            reason,
            actor: 'cli',
            checkpointKey,
            now: Date.now(),
            expectedOrdinals: plan.marks.map((m) => m.ordinal),
            context: osUser(),
          });
          io.out(`acknowledged ${result.marks.length} unverified marks in checkpoint ${result.checkpoint_ordinal} (audit event seq ${result.event_seq})`);
          return EXIT.ok;
        });
      }),
    );

  withFilterFlags(audit.command('query').description('print matching events, newest first, one JSON object per line'))
    .option('--limit <n>', 'events per page (1-500)', '50')
    .option('--cursor <cursor>', 'the next_cursor printed by the previous page')
    .action((options: FilterFlags & { limit: string; cursor?: string }) =>
      run(() => {
        const limit = integerFlag(options.limit, '--limit', 1, 500);
        // A cursor no previous page printed is a wrong flag (exit 2), as for keys and clients list.
        const cursor = cursorFlag(options.cursor, 's', 'audit query');
        const filter = toFilter(options);
        return withAudit(io, async ({ storage }) => {
          const page = await queryEvents(storage.db, filter, cursor === undefined ? { limit } : { limit, cursor });
          for (const event of page.data) io.out(JSON.stringify(event));
          if (page.next_cursor !== null) io.err(`next cursor: ${page.next_cursor}`);
          return EXIT.ok;
        });
      }),
    );

  withFilterFlags(audit.command('export').description('write matching events oldest first for SIEM ingestion'))
    .option('--format <format>', 'output format (jsonl)', 'jsonl')
    .action((options: FilterFlags & { format: string }) =>
      run(() => {
        if (options.format !== 'jsonl') throw new CliFailure(`unsupported export format ${options.format} (use jsonl)`, EXIT.usage);
        const filter = toFilter(options);
        return withAudit(io, async ({ storage }) => {
          for await (const event of exportEvents(storage.db, filter)) await outPaced(io, JSON.stringify(event));
          return EXIT.ok;
        });
      }),
    );

  audit
    .command('prune')
    .description('delete events older than DATE, keeping verification possible (signed checkpoint; itself audited)')
    .requiredOption('--before <date>', 'RFC 3339 date or date-time with Z or an offset, or epoch ms; events strictly older are deleted')
    .action((options: { before: string }) =>
      run(() => {
        // As strict as the query bounds: a date Date.parse would roll over (2026-02-31 is 3 March)
        // or read as local time would delete events nobody meant to.
        let before: number;
        try {
          before = parseAuditTime(options.before, '--before');
        } catch (error) {
          throw new CliFailure((error as Error).message, EXIT.usage);
        }
        return withAudit(io, async ({ storage, checkpointKey }) => {
          const result = await pruneEvents(storage.db, { before, actor: 'cli', checkpointKey, now: Date.now() });
          io.out(result.deleted === 0 ? 'nothing to prune' : `pruned ${result.deleted} events (through seq ${result.through_seq})`);
          return EXIT.ok;
        });
      }),
    );
}

function describeMark(mark: UnverifiedMark): string {
  const after = mark.previous_checkpoint_seq === null ? '' : `; anything written without the key lies after seq ${mark.previous_checkpoint_seq} (the previous checkpoint)`;
  return `checkpoint ${mark.ordinal}: head at seq ${mark.seq} found unsigned on ${new Date(mark.found_at).toISOString()}${after}`;
}

/** The acknowledged marks as notes, so an operator sees what was accepted and why. */
function printAcknowledged(io: CliIo, report: VerifyReport): void {
  const lines = report.acknowledged.map(
    (a) =>
      `note: unsigned head at seq ${a.seq} (checkpoint ${a.ordinal}) acknowledged on ${a.acknowledged_at} (checkpoint ${a.acknowledgement_ordinal}): ` +
      (a.reason === null ? '(reason not available: its event was pruned or not reached)' : JSON.stringify(a.reason)),
  );
  printList(io, lines, (n) => `note: … and ${n} more acknowledged marks (see --json)`);
}

/** At most MAX_LISTED lines: the first ones, then how many more there are. */
function printList(io: CliIo, lines: readonly string[], more: (count: number) => string): void {
  const listed = lines.length > MAX_LISTED ? lines.slice(0, MAX_LISTED - 1) : lines;
  for (const line of listed) io.out(line);
  if (listed.length < lines.length) io.out(more(lines.length - listed.length));
}

/** Runs a validation that throws a WardenError, turning its refusal into a usage error. */
function usageChecked<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof WardenError && error.code === 'validation_failed') throw new CliFailure(error.message, EXIT.usage);
    throw error;
  }
}

/** Who ran the command, for the audit event; the account name is not a secret, and may be unknown in a container. */
function osUser(): Record<string, string> {
  try {
    return { os_user: os.userInfo().username };
  } catch {
    return {};
  }
}

function withFilterFlags(command: Command): Command {
  return command
    .option('--action <action>', 'e.g. auth.login.failed')
    .option('--actor <actor>', 'user id, apikey:<id>, client:<id>, system…')
    .option('--entity-type <type>')
    .option('--entity-id <id>')
    .option('--outcome <outcome>', 'success | failure | denied')
    .option('--since <time>', 'RFC 3339 date or date-time with Z or an offset, or epoch ms (inclusive)')
    .option('--until <time>', 'RFC 3339 date or date-time with Z or an offset, or epoch ms (exclusive)')
    .option('--hours <n>', 'only the last N hours');
}

/** The outcomes an event can have: a filter on another one would match nothing, silently. */
const FILTER_OUTCOMES: readonly string[] = ['success', 'failure', 'denied'];

function toFilter(flags: FilterFlags): AuditFilter {
  let range: { since?: number; until?: number };
  try {
    range = timeRange(
      {
        ...(flags.since === undefined ? {} : { since: flags.since }),
        ...(flags.until === undefined ? {} : { until: flags.until }),
        ...(flags.hours === undefined ? {} : { hours: integerFlag(flags.hours, '--hours', 1, 24 * 366) }),
      },
      Date.now(),
    );
  } catch (error) {
    // A flag the command cannot read is a usage error (exit 2), like every other wrong flag.
    if (error instanceof WardenError && error.code === 'validation_failed') {
      const field = error.fields?.field;
      const message = typeof field === 'string' && error.message.startsWith(`${field} `) ? `--${error.message}` : error.message;
      throw new CliFailure(message, EXIT.usage);
    }
    throw error;
  }
  if (flags.outcome !== undefined && !FILTER_OUTCOMES.includes(flags.outcome)) {
    throw new CliFailure(`--outcome must be one of ${FILTER_OUTCOMES.join(', ')}`, EXIT.usage);
  }
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
 * It does not migrate (inspecting or pruning the log must not change the schema under running
 * instances): a database with pending migrations is refused, exit 1, naming `warden migrate`.
 */
async function withAudit(io: CliIo, work: (audit: { storage: Storage; checkpointKey: Uint8Array }) => Promise<number>): Promise<number> {
  const { settings } = await loadCliSettings(io, { devSecrets: 'generate' });
  const secretKey = settings.secretKey;
  if (secretKey === undefined) throw new CliFailure('WARDEN_SECRET_KEY is needed to check and sign audit checkpoints', EXIT.config);
  return withCheckedDatabase(settings, secretKey, (storage) => work({ storage, checkpointKey: deriveKey(secretKey, CHECKPOINT_KEY_PURPOSE) }), {
    warn: (line) => io.err(`warden: warning: ${line}`),
  });
}
