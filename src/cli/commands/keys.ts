import type { Command } from 'commander';
import { keyView } from '../../apikeys/api-key-routes.js';
import type { ApiKeys } from '../../apikeys/api-keys-domain.js';
import { keyStatus, type ApiKeyRecord } from '../../apikeys/api-key-store.js';
import { keyPrincipal } from '../../apikeys/held-permissions.js';
import { importKeys, type ImportEntry } from '../../apikeys/key-import.js';
import { displayPrefix, type KeyEnvironment } from '../../apikeys/key-format.js';
import { parseRfc3339 } from '../../config/rfc3339.js';
import type { AppContext } from '../../server/app-context.js';
import { CliFailure, MAX_LINE_INPUT_BYTES, readInputFile, type CliIo } from '../cli-io.js';
import { shownFieldName } from '../../errors/shown-field-name.js';
import { cursorFlag } from '../cursor-flag.js';
import { durationFlag } from '../duration-flag.js';
import { addRotateSigningCommand } from './keys-rotate-signing.js';
import { EXIT } from '../exit-codes.js';
import { withServiceContext } from '../service-context.js';
import { resolveUserRef, USER_REF_HELP } from '../user-ref.js';

type Run = (work: () => Promise<number | void>) => Promise<void>;
const SYSTEM = { actor: 'system' };

/** Runs `work` with the API-key domain of a fully opened service context. */
function withKeys<T>(io: CliIo, work: (apiKeys: ApiKeys, context: AppContext) => Promise<T>): Promise<T> {
  return withServiceContext(io, (context) => {
    if (context.apiKeys === undefined) throw new CliFailure('the API-key domain is not wired', EXIT.failure);
    return work(context.apiKeys, context);
  });
}

function describeKey(record: ApiKeyRecord, now: number): string[] {
  const time = (ms: number | undefined): string => (ms === undefined ? '-' : new Date(ms).toISOString());
  const status = keyStatus(record, now);
  const state =
    status === 'disabled' && record.disabledByAdmin
      ? 'disabled by an administrator (its owner cannot re-enable it)'
      : status === 'rotating'
        ? `rotating (stops ${time(record.revokedAt)})`
        : status;
  return [
    `id           ${record.id}`,
    `prefix       ${displayPrefix(record.environment, record.prefix)}`,
    `name         ${record.name}`,
    `owner        ${record.ownerId}`,
    `permissions  ${record.permissions.join(' ') || '(none)'}`,
    `status       ${state}`,
    // The operator sees every user, so the disabling actor is shown here (not in the HTTP view).
    ...(record.enabled ? [] : [`disabled by  ${record.disabledBy ?? '(unknown: disabled before migration 0011)'}`]),
    `rate limit   ${record.rateLimit === undefined ? '-' : `${record.rateLimit.limit} per ${record.rateLimit.windowMs} ms`}`,
    `created      ${time(record.createdAt)}`,
    `expires      ${time(record.expiresAt)}`,
    `last used    ${time(record.lastUsedAt)}${record.lastUsedIp === undefined ? '' : ` from ${record.lastUsedIp}`}`,
    `usage count  ${record.usageCount}`,
  ];
}

function parseRateLimit(value: string | undefined): { limit: number; windowMs: number } | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)\/(\d+)(ms|s|m|h)$/.exec(value);
  if (match === null) throw new CliFailure('--rate-limit must look like 100/60s (units ms, s, m, h)', EXIT.usage);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[3] as 'ms' | 's' | 'm' | 'h'];
  return { limit: Number(match[1]), windowMs: Number(match[2]) * unit };
}

function parseTime(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  // Strict, as the API's date-time: Date.parse would roll 2030-02-31 into March and read a time
  // without an offset as local time.
  const ms = parseRfc3339(value);
  if (ms === undefined) throw new CliFailure(`${flag} must be an RFC 3339 date-time with Z or an offset, e.g. 2030-06-01T00:00:00Z`, EXIT.usage);
  return ms;
}

/** The longest rotation grace period, as POST /v1/keys/{id}/rotate allows. */
const MAX_GRACE_MS = 365 * 86_400_000;

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** `warden keys create|list|show|rotate|revoke|verify|import`: the plain key is printed only by create and rotate. */
export function registerKeys(program: Command, io: CliIo, run: Run): void {
  const keys = program.command('keys').description('issue, inspect, rotate, revoke, verify and import API keys; rotate signing keys');
  // `warden keys rotate-signing` belongs to identity (JWT signing keys) but lives in this group.
  addRotateSigningCommand(keys, io, run);

  keys
    .command('create')
    .description('issue a key; the plain key is printed once, on stdout')
    .requiredOption('--name <name>', 'what the key is for')
    .requiredOption('--owner <user>', `the user the key acts for (${USER_REF_HELP}); it can carry only permissions this user holds`)
    .option('--permission <permission>', 'a permission (repeatable), e.g. reports:read', collect, [])
    .option('--expires-at <iso-time>', 'when the key stops working')
    .option('--rate-limit <n/window>', 'per-key limit, e.g. 100/60s')
    .option('--env <env>', 'live or test', 'live')
    .option('--json', 'print the key and its record as JSON')
    .action((options: { name: string; owner: string; permission: string[]; expiresAt?: string; rateLimit?: string; env: string; json?: boolean }) =>
      run(() => {
        // Flags first: a typo is a usage error before the database is opened (and migrated).
        if (options.env !== 'live' && options.env !== 'test') throw new CliFailure('--env must be live or test', EXIT.usage);
        const expiresAt = parseTime(options.expiresAt, '--expires-at');
        const rateLimit = parseRateLimit(options.rateLimit);
        return withKeys(io, async ({ service }, context) => {
          const ownerId = await resolveUserRef(context, options.owner, '--owner');
          const issued = await service.create(
            { name: options.name, ownerId, permissions: options.permission, environment: options.env as KeyEnvironment, expiresAt, rateLimit },
            SYSTEM,
          );
          // The key once, then the record as `keys show --json` and POST /v1/keys print it (never the hash).
          if (options.json === true) io.out(JSON.stringify({ key: issued.key, ...keyView(issued.record, Date.now()) }));
          else {
            io.out(issued.key);
            io.err(`created key ${issued.record.id}; store it now, it is not shown again`);
          }
          return EXIT.ok;
        });
      }),
    );

  keys
    .command('list')
    .description('list keys, newest first (prefix, name, status, usage); the next page’s cursor goes to stderr')
    .option('--owner <user>', `only this owner’s keys (${USER_REF_HELP})`)
    .option('--limit <n>', 'keys per page (1-200)', '50')
    .option('--cursor <cursor>', 'the next cursor printed by the previous page')
    .action((options: { owner?: string; limit: string; cursor?: string }) =>
      run(() => {
        const limit = Number(options.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new CliFailure('--limit must be 1-200', EXIT.usage);
        const cursor = cursorFlag(options.cursor, 'k', 'keys list');
        return withKeys(io, async ({ service }, context) => {
          const now = Date.now();
          // An unknown id lists nothing, as before; an email must name a user to filter by.
          const ownerId = options.owner === undefined ? undefined : await resolveUserRef(context, options.owner, '--owner', { mustExist: false });
          const page = await service.list({ ownerId, limit, cursor });
          for (const r of page.data) {
            io.out([r.id, displayPrefix(r.environment, r.prefix), keyStatus(r, now), String(r.usageCount), r.name].join('\t'));
          }
          if (page.next_cursor !== null) io.err(`next cursor: ${page.next_cursor}`);
          return EXIT.ok;
        });
      }),
    );

  keys
    .command('show <id>')
    .description('show one key with its usage (count, last use, last client IP)')
    .option('--json', 'print the record as JSON (the fields of GET /v1/keys/{id})')
    .action((id: string, options: { json?: boolean }) =>
      run(() =>
        withKeys(io, async ({ service }) => {
          const record = await service.get(id);
          if (record === undefined) throw new CliFailure(`no API key with id ${id}`);
          if (options.json === true) io.out(JSON.stringify(keyView(record, Date.now())));
          else for (const line of describeKey(record, Date.now())) io.out(line);
          return EXIT.ok;
        }),
      ),
    );

  keys
    .command('rotate <id>')
    .description('issue a replacement with the same settings; the old key works for the grace period')
    .option('--grace <duration>', 'how long the old key keeps working, e.g. 24h or 0 (default WARDEN_API_KEY_ROTATION_GRACE_MS)')
    .action((id: string, options: { grace?: string }) =>
      run(() => {
        const graceMs = options.grace === undefined ? undefined : durationFlag(options.grace, '--grace', { maxMs: MAX_GRACE_MS, maxText: '365d' });
        return withKeys(io, async ({ service }) => {
          const issued = await service.rotate(id, SYSTEM, { graceMs });
          io.out(issued.key);
          io.err(`rotated ${id} to ${issued.record.id}; store the new key now, it is not shown again`);
          return EXIT.ok;
        });
      }),
    );

  keys
    .command('revoke <id>')
    .description('revoke a key at once (every instance drops it from its cache)')
    .action((id: string) =>
      run(() =>
        withKeys(io, async ({ service }) => {
          const record = await service.revoke(id, SYSTEM);
          io.out(`revoked ${record.id} (${displayPrefix(record.environment, record.prefix)})`);
          return EXIT.ok;
        }),
      ),
    );

  keys
    .command('verify')
    .description('verify a key read from stdin (never from the command line); exit 0 if valid, 1 if not')
    .option('--permission <permission>', 'a permission the key must carry (repeatable)', collect, [])
    .action((options: { permission: string[] }) =>
      run(async () => {
        const key = (await io.readStdin(MAX_LINE_INPUT_BYTES)).toString('utf8').trim();
        if (key === '') throw new CliFailure('pipe the key on stdin, e.g. warden keys verify < key.txt', EXIT.usage);
        return withKeys(io, async ({ verifier }, context) => {
          // As POST /v1/keys/verify and every guarded route: the owner must still hold each permission.
          const ownerHolds = (record: ApiKeyRecord, permission: string) => context.authorize(keyPrincipal(record), permission);
          const result = await verifier.verify(key, { permissions: options.permission, ownerHolds });
          io.out(result.valid ? `valid: key ${result.key.id} of owner ${result.key.ownerId}` : `invalid: ${result.code}${result.key === undefined ? '' : ` (key ${result.key.id})`}`);
          return result.valid ? EXIT.ok : EXIT.failure;
        });
      }),
    );

  keys
    .command('import')
    .description('import keys from an older store (JSON lines from --file or stdin; see docs/api-keys.md)')
    .option('--file <path>', 'read entries from this file instead of stdin')
    .option('--owner <user>', `owner of entries that do not name one (plain-key lines): ${USER_REF_HELP}`)
    .option('--name <name>', 'name of entries that do not have one', 'imported')
    .option('--permission <permission>', 'permissions of entries that do not list any (repeatable)', collect, [])
    .action((options: { file?: string; owner?: string; name: string; permission: string[] }) =>
      run(async () => {
        const text = options.file === undefined ? (await io.readStdin()).toString('utf8') : readInputFile(options.file);
        const parsed = parseImportLines(text, options);
        return withKeys(io, async ({ keyring }, context) => {
          // Each entry's owner is still checked by the import (an unknown id refuses that entry only).
          const owner = options.owner === undefined ? undefined : await resolveUserRef(context, options.owner, '--owner', { mustExist: false });
          const entries = parsed.map((entry) => (entry.ownerId === options.owner && owner !== undefined ? { ...entry, ownerId: owner } : entry));
          const report = await importKeys(entries, {
            db: context.storage.db,
            keyring,
            invalidation: context.invalidation,
            audit: context.audit,
            ownerPermissions: async (ownerId) => context.authz?.effectivePermissions(ownerId),
            actor: 'system',
          });
          for (const problem of report.problems) io.err(`refused ${problem}`);
          io.out(`imported ${report.imported}, skipped ${report.skipped} duplicates, refused ${report.problems.length}`);
          return report.problems.length === 0 ? EXIT.ok : EXIT.dataError;
        });
      }),
    );
}

/**
 * One entry per non-empty line: a JSON object `{key|sha256, name?, owner_id?, permissions?, expires_at?}`
 * or a bare plain key. Missing fields come from the flags. Never echoes a line.
 */
export function parseImportLines(text: string, defaults: { owner?: string | undefined; name: string; permission: readonly string[] }): ImportEntry[] {
  const entries: ImportEntry[] = [];
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    let fields: Record<string, unknown> = { key: line };
    // A line that opens like JSON is JSON, and must be an object: `["wdn_…"]` or `"wdn_…"` is
    // a mistake to report, not a plain key with brackets or quotes in it.
    if (/^[[{"]/.test(line)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        throw new CliFailure(`line ${index + 1} is not valid JSON`, EXIT.dataError);
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new CliFailure(`line ${index + 1} is JSON but not an object: write {"key": …} or {"sha256": …}, or the plain key alone`, EXIT.dataError);
      }
      fields = parsed as Record<string, unknown>;
      checkImportFields(fields, index + 1);
    }
    const ownerId = typeof fields.owner_id === 'string' ? fields.owner_id : defaults.owner;
    if (ownerId === undefined) throw new CliFailure(`line ${index + 1} names no owner: add owner_id or pass --owner`, EXIT.usage);
    const expires = typeof fields.expires_at === 'string' ? parseRfc3339(fields.expires_at) : undefined;
    if (typeof fields.expires_at === 'string' && expires === undefined) {
      throw new CliFailure(`line ${index + 1}: expires_at is not an RFC 3339 date-time with Z or an offset`, EXIT.dataError);
    }
    entries.push({
      line: index + 1,
      key: typeof fields.key === 'string' ? fields.key : undefined,
      sha256: typeof fields.sha256 === 'string' ? fields.sha256 : undefined,
      name: typeof fields.name === 'string' ? fields.name : defaults.name,
      ownerId,
      permissions: Array.isArray(fields.permissions) ? (fields.permissions as string[]) : [...defaults.permission],
      expiresAt: expires,
    });
  }
  return entries;
}

const IMPORT_FIELDS: Readonly<Record<string, 'string' | 'array'>> = { key: 'string', sha256: 'string', name: 'string', owner_id: 'string', permissions: 'array', expires_at: 'string' };

/**
 * Refuses a field it does not know or cannot read, rather than fall back to a default: an
 * `expires_at` in epoch ms or a misspelt `expiresAt` would otherwise import a key that never
 * expires. Names the field and the line, never the value.
 */
function checkImportFields(fields: Record<string, unknown>, line: number): void {
  for (const [name, value] of Object.entries(fields)) {
    const type = Object.hasOwn(IMPORT_FIELDS, name) ? IMPORT_FIELDS[name] : undefined;
    if (type === undefined) throw new CliFailure(`line ${line}: unknown field ${shownFieldName(name)} (known: ${Object.keys(IMPORT_FIELDS).join(', ')})`, EXIT.dataError);
    if (value === null) continue;
    const fits = type === 'array' ? Array.isArray(value) && value.every((item) => typeof item === 'string') : typeof value === 'string';
    if (!fits) throw new CliFailure(`line ${line}: ${name} must be ${type === 'array' ? 'a list of strings' : 'a string'}`, EXIT.dataError);
  }
}
