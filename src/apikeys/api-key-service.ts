import { randomUUID } from 'node:crypto';
import type { Kysely, Updateable } from 'kysely';
import type { AuditEventInput, AuditRecorder } from '../audit/audit-event.js';
import { isPermission, permissionCovers } from '../authz/permission-match.js';
import { hasUnshowableCharacters } from '../authz/names.js';
import type { InvalidationBus } from '../cache/invalidation-bus.js';
import { KeyLockedError, NotFoundError, ValidationError, WardenError } from '../errors/index.js';
import type { DatabaseSchema } from '../storage/index.js';
import { inTransaction, isForeignKeyViolation } from '../storage/index.js';
import { decodePositionCursor, encodePositionCursor, pageOf, type ListPage } from '../storage/keyset-cursor.js';
import { findById, isRevoked, listKeys, type ApiKeyRecord } from './api-key-store.js';
import type { ApiKeysTable } from './apikey-tables.js';
import { issuerLimitEscape, type IssuedLimits } from './issuer-limits.js';
import { generateApiKey, parseApiKey, type KeyEnvironment } from './key-format.js';
import type { PepperKeyring } from './pepper-keyring.js';
import type { UsageTracker } from './usage-tracker.js';

/** Who asks for a change, for the audit log. */
export interface ActorContext {
  /**
   * user id, `apikey:<id>`, `client:<client_id>`, or `system` (CLI). With `apikey:<id>` the keys
   * this actor issues are also held to that key's own expiry and rate limit, with
   * `client:<client_id>` to that client's expiry (see checkIssuerLimits).
   */
  readonly actor: string;
  readonly ip?: string | undefined;
  readonly userAgent?: string | undefined;
  readonly requestId?: string | undefined;
  /**
   * The most a new key may carry besides the owner's own permissions (the creating
   * principal's permissions); undefined = no cap besides the owner's (CLI, an operator).
   */
  readonly grantablePermissions?: readonly string[] | undefined;
  /**
   * The permissions of `wanted` the creating principal does not hold (authorization's
   * `notHeld`); used instead of `grantablePermissions` when given.
   */
  readonly notHeld?: ((wanted: readonly string[]) => Promise<readonly string[]>) | undefined;
}

/**
 * How the caller stands to a key's owner, which decides whether a disable locks the key and
 * who may lift that lock (see setEnabled). Routes take both from src/authz/owner-access.ts.
 */
export interface OwnerStanding {
  /** The caller acts on its own key (the owner, or one of the owner's API keys). */
  readonly isOwner: boolean;
  /** The caller holds what managing another owner's keys needs (users:write). */
  readonly managesOwners: boolean;
}

/** The CLI and library callers: operators, who stand above every owner. */
const OPERATOR: OwnerStanding = { isOwner: false, managesOwners: true };

export interface CreateKeyInput {
  readonly name: string;
  readonly ownerId: string;
  readonly permissions: readonly string[];
  readonly environment?: KeyEnvironment;
  readonly expiresAt?: number | undefined;
  readonly rateLimit?: { readonly limit: number; readonly windowMs: number } | undefined;
  readonly metadata?: Record<string, unknown> | undefined;
}

/** A key as shown after creation: the record plus, once only, the plain key. */
export interface IssuedKey {
  readonly key: string;
  readonly record: ApiKeyRecord;
}

export interface ApiKeyServiceOptions {
  readonly db: Kysely<DatabaseSchema>;
  readonly keyring: PepperKeyring;
  readonly usage: UsageTracker;
  readonly invalidation: InvalidationBus;
  /** Read at each call: the audit recorder may be replaced after construction. */
  readonly audit: () => AuditRecorder;
  /** The owner's effective permissions; undefined when authorization cannot tell. */
  readonly ownerPermissions?: ((ownerId: string) => Promise<readonly string[] | undefined>) | undefined;
  /**
   * Told when a change could not be announced to other instances (Redis down): they still
   * drop the key within the cache TTL, so the change stands and is not failed for it.
   */
  readonly onAnnounceError?: (error: unknown) => void;
  /** Grace period of a rotated key. @default 86_400_000 */
  readonly rotationGraceMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

const MAX_PERMISSIONS = 100;
/** The largest per-key rate limit: requests per window (the column is a 32-bit integer on PostgreSQL). */
export const MAX_KEY_RATE_LIMIT = 1_000_000_000;
/** The longest per-key rate-limit window: 31 days. */
export const MAX_KEY_RATE_WINDOW_MS = 31 * 86_400_000;

/** Issues, lists, rotates and revokes API keys; storage holds only keyed hashes. */
export class ApiKeyService {
  private readonly now: () => number;

  constructor(private readonly options: ApiKeyServiceOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Creates a key; the plain key is in the result and nowhere else. */
  async create(input: CreateKeyInput, actor: ActorContext): Promise<IssuedKey> {
    const now = this.now();
    await this.checkInput(input, actor, now);
    const issued = await inTransaction(this.options.db, async (trx) => this.insert(trx, input, actor, now, { enabled: true }));
    await this.record(actor, 'apikey.created', issued.record, { prefix: issued.record.prefix, permissions: [...issued.record.permissions] });
    return issued;
  }

  /**
   * Issues a new key with the old one's settings; the old key keeps working for the grace
   * period (0 = stops at once) and is then refused as `revoked`.
   */
  async rotate(id: string, actor: ActorContext, options: { graceMs?: number | undefined } = {}): Promise<IssuedKey> {
    const now = this.now();
    const graceMs = options.graceMs ?? this.options.rotationGraceMs ?? 86_400_000;
    if (!Number.isSafeInteger(graceMs) || graceMs < 0) throw new ValidationError('grace_period_ms must be an integer >= 0');
    const current = await findById(this.options.db, id);
    if (current === undefined) throw new NotFoundError('The API key');
    // The replacement is a new secret with the old one's permissions: handing it out needs
    // exactly what creating such a key needs (a key's permissions never change, so this holds
    // for the row the transaction reads too).
    await this.checkGrant(current.ownerId, current.permissions, actor, { action: 'apikey.rotated', keyId: id });
    // Nor can the expiry and rate limit change, which the replacement keeps.
    await this.checkIssuerLimits(current, actor, { action: 'apikey.rotated', keyId: id });
    const shortened: string[] = [];
    const issued = await inTransaction(this.options.db, async (trx) => {
      const old = await findById(trx, id);
      if (old === undefined) throw new NotFoundError('The API key');
      // By its reason, not only its time: a revoke that committed after this rotation took `now`
      // stamps a later time, which would read as a grace period still running.
      if (isRevoked(old, now)) throw new WardenError('conflict', 'The API key is revoked and cannot be rotated');
      if (old.replacedBy !== undefined) throw new WardenError('conflict', 'The API key was already rotated; rotate its replacement');
      // The replacement keeps the expiry: it would be born expired, a key that never works.
      if (old.expiresAt !== undefined && old.expiresAt <= now) throw new WardenError('conflict', 'The API key has expired and cannot be rotated; create a new key');
      const environment: KeyEnvironment = old.environment === 'test' ? 'test' : 'live';
      const input: CreateKeyInput = {
        name: old.name,
        ownerId: old.ownerId,
        permissions: old.permissions,
        environment,
        expiresAt: old.expiresAt,
        rateLimit: old.rateLimit,
        metadata: old.metadata,
      };
      // A disabled key's replacement starts disabled too, and locked if the key was: rotating
      // must neither re-enable a key nor shed an administrator's disable.
      const created = await this.insert(trx, input, actor, now, {
        rotatedFrom: old.id,
        enabled: old.enabled,
        disabledBy: old.disabledBy,
        disabledByAdmin: old.disabledByAdmin,
      });
      const stopsAt = old.revokedAt === undefined ? now + graceMs : Math.min(old.revokedAt, now + graceMs);
      // The read above takes no lock: a revoke, disable or other rotation may commit before
      // this write. Writing only if the row is still as read (on PostgreSQL the condition is
      // re-checked once a concurrent writer commits) keeps a revocation from being pushed back
      // into the future, a disable (or an administrator's lock on a disabled key) from being
      // lost, and a key from having two replacements.
      // Comparing revoked_at with the value read, not with `now`, matters: a revoke that ran
      // after this rotation started stamps a later time than `now`.
      const result = await trx
        .updateTable('api_keys')
        .set({ revoked_at: stopsAt, revoked_reason: 'rotated', replaced_by: created.record.id, updated_at: now })
        .where('id', '=', old.id)
        .where('replaced_by', 'is', null)
        .where('is_enabled', '=', old.enabled ? 1 : 0)
        .where('disabled_by_admin', '=', old.disabledByAdmin ? 1 : 0)
        .where((eb) => (old.revokedAt === undefined ? eb('revoked_at', 'is', null) : eb('revoked_at', '=', old.revokedAt)))
        .where((eb) => eb.or([eb('revoked_reason', 'is', null), eb('revoked_reason', '<>', 'revoked')]))
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) {
        // Thrown inside the transaction: the replacement inserted above is rolled back with it.
        throw new WardenError('conflict', 'The API key was revoked, disabled or rotated while this rotation ran; nothing was changed', {
          fields: { id },
        });
      }
      // The keys this one replaced, still in their own grace periods, stop no later than it
      // does: an older copy, the likelier to have leaked, must not outlive its successor.
      for (let previous = old.rotatedFrom; previous !== undefined; ) {
        const predecessor = await findById(trx, previous);
        if (predecessor === undefined) break;
        const cut = await trx
          .updateTable('api_keys')
          .set({ revoked_at: stopsAt, updated_at: now })
          .where('id', '=', predecessor.id)
          .where('revoked_at', '>', stopsAt)
          .executeTakeFirst();
        if (Number(cut.numUpdatedRows) > 0) shortened.push(predecessor.id);
        previous = predecessor.rotatedFrom;
      }
      return created;
    });
    for (const keyId of [id, ...shortened]) await this.announce(keyId);
    await this.record(actor, 'apikey.rotated', issued.record, {
      prefix: issued.record.prefix,
      rotated_from: id,
      grace_period_ms: graceMs,
      ...(shortened.length > 0 ? { earlier_keys_stopped: shortened } : {}),
    });
    return issued;
  }

  /**
   * Revokes a key at once, on this instance and (through the bus) on every other, and with it
   * any key it replaced that is still in its rotation grace period: revoking is the answer to
   * a leak, and a leaked key is often rotated first.
   */
  async revoke(id: string, actor: ActorContext): Promise<ApiKeyRecord> {
    const now = this.now();
    const ended: ApiKeyRecord[] = [];
    let repeat = false;
    const revoked = await inTransaction(this.options.db, async (trx) => {
      let key = await findById(trx, id);
      if (key === undefined) throw new NotFoundError('The API key');
      repeat = isRevoked(key, now);
      while (key !== undefined) {
        if (!isRevoked(key, now)) {
          await trx
            .updateTable('api_keys')
            .set({ revoked_at: now, revoked_reason: 'revoked', updated_at: now })
            .where('id', '=', key.id)
            // Overrides a rotation's future stop (also one committed since the read), never an
            // earlier revocation.
            .where((eb) => eb.or([eb('revoked_at', 'is', null), eb('revoked_at', '>', now)]))
            .execute();
          if (key.id !== id) ended.push(key);
        }
        key = key.rotatedFrom === undefined ? undefined : await findById(trx, key.rotatedFrom);
      }
      return (await findById(trx, id)) as ApiKeyRecord;
    });
    // Caches first: the revocation is in force from the commit, and waiting for the audit
    // writes would leave this instance serving the key meanwhile.
    for (const key of [revoked, ...ended]) await this.announce(key.id);
    // A key revoked already (a retry after a failed audit write, or a second caller) is
    // recorded as a repeat: the trail must not say it was revoked again, by someone else, later.
    await this.record(actor, 'apikey.revoked', revoked, { prefix: revoked.prefix, ...(repeat ? { repeat: true } : {}) });
    for (const predecessor of ended) {
      await this.record(actor, 'apikey.revoked', { ...predecessor, revokedAt: now }, { prefix: predecessor.prefix, with_replacement: id });
    }
    return this.withPendingUsage(revoked);
  }

  /**
   * Disables or re-enables a key; a disabled key is refused as `disabled` everywhere at once.
   * A disable by someone not acting as the owner (`standing`; default: an operator) locks the
   * key: re-enabling it then needs `managesOwners`, otherwise KeyLockedError (audited as denied).
   * The owner's own disable of a locked key leaves the lock, and who set it, in place. A revoked
   * key is neither enabled nor disabled: 409 conflict, nothing changed or audited.
   */
  async setEnabled(id: string, enabled: boolean, actor: ActorContext, standing: OwnerStanding = OPERATOR): Promise<ApiKeyRecord> {
    const now = this.now();
    const locks = !enabled && !standing.isOwner;
    const values: Updateable<ApiKeysTable> = enabled
      ? { is_enabled: 1, disabled_by: null, disabled_by_admin: 0, updated_at: now }
      : { is_enabled: 0, disabled_by: actor.actor, updated_at: now, ...(locks ? { disabled_by_admin: 1 } : {}) };
    // The lock is tested by the write itself, not by an earlier read: a lock committed after
    // such a read would otherwise be lifted (enable) or have its author overwritten (disable).
    const respectsLock = enabled ? !standing.managesOwners : !locks;
    const outcome = await inTransaction(this.options.db, async (trx) => {
      let update = trx
        .updateTable('api_keys')
        .set(values)
        .where('id', '=', id)
        // A revoked key stays revoked whatever its flag, so changing the flag would only make
        // the answer misleading; a key in its rotation grace period still works and may be.
        .where((eb) => eb.or([eb('revoked_at', 'is', null), eb('revoked_at', '>', now)]))
        .where((eb) => eb.or([eb('revoked_reason', 'is', null), eb('revoked_reason', '<>', 'revoked')]));
      if (respectsLock) update = update.where('disabled_by_admin', '=', 0);
      const result = await update.executeTakeFirst();
      const record = await findById(trx, id);
      if (record === undefined) throw new NotFoundError('The API key');
      return { record, changed: Number(result.numUpdatedRows) === 1 };
    });
    const record = outcome.record;
    if (!outcome.changed && isRevoked(record, now)) {
      throw new WardenError('conflict', 'The key is revoked; a revoked key cannot be enabled or disabled', { fields: { id } });
    }
    if (enabled && !outcome.changed) {
      await this.record(actor, 'apikey.updated', record, { prefix: record.prefix, enabled, reason: 'key_locked', disabled_by: record.disabledBy }, 'denied');
      throw new KeyLockedError();
    }
    // Caches before the audit write, as for revoke: a disable is in force from the commit.
    await this.announce(id);
    await this.record(actor, 'apikey.updated', record, { prefix: record.prefix, enabled, ...(enabled ? {} : { disabled_by_admin: record.disabledByAdmin }) });
    return this.withPendingUsage(record);
  }

  /** One key, with the usage this instance has counted but not written yet. */
  async get(id: string): Promise<ApiKeyRecord | undefined> {
    const record = await findById(this.options.db, id);
    return record === undefined ? undefined : this.withPendingUsage(record);
  }

  /** One page of keys, newest first (created_at, then id); `cursor` is the previous page's `next_cursor`. */
  async list(options: { ownerId?: string | undefined; limit: number; cursor?: string | undefined }): Promise<ListPage<ApiKeyRecord>> {
    const before = options.cursor === undefined ? undefined : decodePositionCursor('k', options.cursor);
    const records = await listKeys(this.options.db, { ownerId: options.ownerId, limit: options.limit + 1, before });
    const page = pageOf(records, options.limit, (last) => encodePositionCursor('k', last));
    return { ...page, data: page.data.map((r) => this.withPendingUsage(r)) };
  }

  private withPendingUsage(record: ApiKeyRecord): ApiKeyRecord {
    const pending = this.options.usage.pending(record.id);
    if (pending === undefined) return record;
    const newer = record.lastUsedAt === undefined || pending.lastUsedAt >= record.lastUsedAt;
    return {
      ...record,
      usageCount: record.usageCount + pending.count,
      lastUsedAt: newer ? pending.lastUsedAt : record.lastUsedAt,
      lastUsedIp: newer ? pending.lastUsedIp : record.lastUsedIp,
    };
  }

  private async checkInput(input: CreateKeyInput, actor: ActorContext, now: number): Promise<void> {
    if (input.name.trim() === '' || input.name.length > 200) throw new ValidationError('name must be 1–200 characters', { field: 'name' });
    if (hasUnshowableCharacters(input.name)) throw new ValidationError('name must not contain control characters or bidirectional controls', { field: 'name' });
    if (input.permissions.length > MAX_PERMISSIONS) throw new ValidationError(`A key carries at most ${MAX_PERMISSIONS} permissions`);
    for (const p of input.permissions) {
      if (!isPermission(p)) throw new ValidationError(`"${p}" is not a permission (resource:action)`, { field: 'permissions' });
    }
    if (input.expiresAt !== undefined && !Number.isSafeInteger(input.expiresAt)) throw new ValidationError('expires_at must be a time in whole milliseconds', { field: 'expires_at' });
    if (input.expiresAt !== undefined && input.expiresAt <= now) throw new ValidationError('expires_at must be in the future', { field: 'expires_at' });
    // The same bounds as the HTTP schema, for the CLI and library callers: the two databases
    // would otherwise disagree (SQLite stores any integer, PostgreSQL's integer column refuses).
    const rl = input.rateLimit;
    if (
      rl !== undefined &&
      !(Number.isSafeInteger(rl.limit) && rl.limit >= 1 && rl.limit <= MAX_KEY_RATE_LIMIT && Number.isSafeInteger(rl.windowMs) && rl.windowMs >= 1 && rl.windowMs <= MAX_KEY_RATE_WINDOW_MS)
    ) {
      throw new ValidationError(`rate_limit needs a limit of 1–${MAX_KEY_RATE_LIMIT} per window_ms of 1–${MAX_KEY_RATE_WINDOW_MS} (31 days)`, { field: 'rate_limit' });
    }
    await this.checkGrant(input.ownerId, input.permissions, actor, { action: 'apikey.created' });
    await this.checkIssuerLimits(input, actor, { action: 'apikey.created' });
  }

  /**
   * Refuses a key issued by an API key (`apikey:<id>` actor) that would outlive it (its expiry,
   * or the end of its rotation grace period) or have a looser rate limit, and one issued by an
   * OAuth client (`client:<client_id>`) that would outlive the client: keys:write must not be a
   * way out of the calling credential's own limits. Users and the CLI are not bound by this.
   */
  private async checkIssuerLimits(
    wanted: IssuedLimits,
    actor: ActorContext,
    attempt: { readonly action: 'apikey.created' | 'apikey.rotated'; readonly keyId?: string },
  ): Promise<void> {
    const escape = await issuerLimitEscape(this.options.db, actor.actor, wanted, attempt.action);
    if (escape === undefined) return;
    await this.recordEscalation(actor, attempt, escape.fields);
    throw new WardenError('privilege_escalation', escape.message, { fields: escape.fields });
  }

  /** A refused escalation is worth an event: it is what probing for a way up looks like. */
  private recordEscalation(
    actor: ActorContext,
    attempt: { readonly action: 'apikey.created' | 'apikey.rotated'; readonly keyId?: string },
    details: Record<string, unknown>,
  ): Promise<void> {
    return this.options.audit().record({
      action: attempt.action,
      actor: actor.actor,
      entity_type: 'api_key',
      entity_id: attempt.keyId,
      outcome: 'denied',
      ip: actor.ip,
      user_agent: actor.userAgent,
      request_id: actor.requestId,
      details: { reason: 'privilege_escalation', ...details },
    });
  }

  /**
   * Refuses a key for a missing or deactivated owner, or carrying permissions beyond what its
   * owner holds (when authorization can tell) or what the principal issuing it holds.
   */
  private async checkGrant(
    ownerId: string,
    permissions: readonly string[],
    actor: ActorContext,
    attempt: { readonly action: 'apikey.created' | 'apikey.rotated'; readonly keyId?: string },
  ): Promise<void> {
    const owner = await this.options.db.selectFrom('users').select(['id', 'is_active']).where('id', '=', ownerId).executeTakeFirst();
    if (owner === undefined) throw new ValidationError('owner_id does not name an existing user', { field: 'owner_id' });
    if (Number(owner.is_active) !== 1) throw new ValidationError('The owner is deactivated', { field: 'owner_id' });
    const beyondCap = (cap: readonly string[]): string[] => permissions.filter((p) => !cap.some((g) => permissionCovers(g, p)));
    const ownerHolds = await this.options.ownerPermissions?.(ownerId);
    const refusals: (readonly string[])[] = [ownerHolds === undefined ? [] : beyondCap(ownerHolds)];
    if (actor.notHeld !== undefined) refusals.push(await actor.notHeld(permissions));
    else if (actor.grantablePermissions !== undefined) refusals.push(beyondCap(actor.grantablePermissions));
    for (const [index, beyond] of refusals.entries()) {
      if (beyond.length > 0) {
        await this.recordEscalation(actor, attempt, { owner_id: ownerId, permissions: [...beyond] });
        // Name who lacks what: the operator at the console holds everything, so a refusal there is
        // always about the owner, and "owner or creator" left them guessing which role to grant.
        // Permission names and the owner's id are what the caller sent, never secrets.
        const message =
          index === 0
            ? `The owner (user ${ownerId}) does not hold ${beyond.join(', ')}: a key cannot carry permissions its owner does not hold; give the owner a role that grants them first`
            : `The caller does not hold ${beyond.join(', ')}: a key cannot carry permissions its creator does not hold`;
        throw new WardenError('privilege_escalation', message, { fields: { permissions: [...beyond] } });
      }
    }
  }

  private async insert(
    db: Kysely<DatabaseSchema>,
    input: CreateKeyInput,
    actor: ActorContext,
    now: number,
    origin: { readonly enabled: boolean; readonly rotatedFrom?: string; readonly disabledBy?: string | undefined; readonly disabledByAdmin?: boolean },
  ): Promise<IssuedKey> {
    const key = generateApiKey(input.environment ?? 'live');
    const parsed = parseApiKey(key) as { prefix: string };
    const id = randomUUID();
    const version = this.options.keyring.activeVersion;
    try {
      await db
        .insertInto('api_keys')
        .values({
          id,
          prefix: parsed.prefix,
          environment: input.environment ?? 'live',
          key_hash: this.options.keyring.hash(key, version) as string,
          hash_scheme: 'hmac-sha256',
          pepper_version: version,
          lookup_hash: null,
          name: input.name,
          owner_id: input.ownerId,
          permissions: JSON.stringify([...new Set(input.permissions)]),
          metadata: JSON.stringify(input.metadata ?? {}),
          rate_limit: input.rateLimit?.limit ?? null,
          rate_limit_window_ms: input.rateLimit?.windowMs ?? null,
          is_enabled: origin.enabled ? 1 : 0,
          disabled_by: origin.disabledBy ?? null,
          disabled_by_admin: origin.disabledByAdmin === true ? 1 : 0,
          created_by: actor.actor,
          created_at: now,
          updated_at: now,
          expires_at: input.expiresAt ?? null,
          revoked_at: null,
          revoked_reason: null,
          rotated_from: origin.rotatedFrom ?? null,
          replaced_by: null,
          usage_count: 0,
          last_used_at: null,
          last_used_ip: null,
        })
        .execute();
    } catch (error) {
      // The owner was deleted after its check (PostgreSQL reads committed rows): as if it never was.
      if (isForeignKeyViolation(error)) throw new ValidationError('owner_id does not name an existing user', { field: 'owner_id' });
      throw error;
    }
    return { key, record: (await findById(db, id)) as ApiKeyRecord };
  }

  /** Tells other instances to drop their cached copy of a key; a failure is reported, not thrown (see onAnnounceError). */
  private async announce(id: string): Promise<void> {
    try {
      await this.options.invalidation.publish({ topic: 'apikey', id });
    } catch (error) {
      this.options.onAnnounceError?.(error);
    }
  }

  private async record(
    actor: ActorContext,
    action: AuditEventInput['action'],
    key: ApiKeyRecord,
    details: Record<string, unknown>,
    outcome: AuditEventInput['outcome'] = 'success',
  ): Promise<void> {
    await this.options.audit().record({
      action,
      actor: actor.actor,
      entity_type: 'api_key',
      entity_id: key.id,
      outcome,
      ip: actor.ip,
      user_agent: actor.userAgent,
      request_id: actor.requestId,
      details: { owner_id: key.ownerId, ...details },
    });
  }
}
