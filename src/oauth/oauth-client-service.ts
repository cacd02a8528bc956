import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { LRUCache } from 'lru-cache';
import { issuerLimitEscape } from '../apikeys/issuer-limits.js';
import type { AuditRecorder } from '../audit/audit-event.js';
import { anyCovers, isPermission } from '../authz/permission-match.js';
import { hasUnshowableCharacters } from '../authz/names.js';
import { cacheMaxAge, isFresh } from '../cache/cache-max-age.js';
import type { InvalidationBus } from '../cache/invalidation-bus.js';
import { NotFoundError, ValidationError, WardenError } from '../errors/index.js';
import { isForeignKeyViolation, type DatabaseSchema } from '../storage/index.js';
import { decodePositionCursor, encodePositionCursor, pageOf, type ListPage } from '../storage/keyset-cursor.js';
import type { ClientSecretHasher } from './client-secret.js';
import type { OAuthClientsTable } from './oauth-client-tables.js';
import { sharedLoad } from '../cache/shared-load.js';

const CLIENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A client as the service returns it, times in epoch ms (`/v1/clients` shows `clientView` of it); never the secret or its hash. */
export interface OAuthClient {
  readonly client_id: string;
  readonly name: string;
  readonly owner_id: string;
  readonly scopes: readonly string[];
  readonly created_at: number;
  readonly expires_at: number | null;
  readonly revoked_at: number | null;
  readonly last_used_at: number | null;
  /** Until when the previous secret still works after a rotation. */
  readonly previous_secret_expires_at: number | null;
}

/** Why client authentication failed (never shown to the caller: all are `invalid_client`). */
export type ClientAuthFailure = 'unknown_client' | 'bad_secret' | 'revoked' | 'expired' | 'owner_inactive';

export type ClientAuthentication = { readonly ok: true; readonly client: OAuthClient } | { readonly ok: false; readonly reason: ClientAuthFailure };

export interface OAuthClientServiceParts {
  readonly db: Kysely<DatabaseSchema>;
  readonly hasher: ClientSecretHasher;
  readonly audit: () => AuditRecorder;
  readonly invalidation: InvalidationBus;
  /** The owner's effective permissions; a client can never hold more. */
  readonly ownerPermissions: (ownerId: string) => Promise<readonly string[]>;
  readonly now: () => number;
  /**
   * Told when a revocation could not be announced to other instances (Redis down): it is in
   * force from the commit, and they stop honouring the client within their status cache's
   * bound, so the change stands and is not failed for it.
   */
  readonly onAnnounceError?: (error: unknown) => void;
}

/** Who performs a change, for the audit log. */
export interface Actor {
  /** A user id, `apikey:<id>` or `client:<id>` (whose own end then bounds the secrets it receives), or `system…`. */
  readonly actor: string;
  readonly ip?: string;
  readonly request_id?: string;
}

const TOPIC = 'oauth-client';

/** A cached answer of isActive(), with what is needed to keep it honest while cached. */
interface ClientStatus {
  readonly active: boolean;
  readonly loadedAt: number;
  readonly expiresAt: number | null;
}

function view(row: OAuthClientsTable): OAuthClient {
  return {
    client_id: row.id,
    name: row.name,
    owner_id: row.owner_id,
    scopes: JSON.parse(row.scopes) as string[],
    created_at: row.created_at,
    expires_at: row.expires_at,
    revoked_at: row.revoked_at,
    last_used_at: row.last_used_at,
    previous_secret_expires_at: row.previous_secret_expires_at,
  };
}

/** A client's row as authentication reads it, cached with when it was read. */
interface CachedAuthRow {
  readonly row: OAuthClientsTable & { readonly owner_active: number | null };
  readonly loadedAt: number;
}

/** OAuth clients: create (secret shown once), list, get, rotate with a grace period, revoke, authenticate. */
export class OAuthClientService {
  // Status answers for token checks, dropped on any change (across instances via the bus).
  private readonly activeCache = new LRUCache<string, ClientStatus>({ max: 10_000, ttl: 5_000 });
  // Rows for authentication (secret hashes, revocation, expiry, owner status), so a resource
  // server introspecting per request costs no database read; dropped like activeCache, and by
  // a rotation, so an old secret without grace stops at once. Unknown ids are never cached.
  private readonly authCache = new LRUCache<string, CachedAuthRow>({ max: 10_000, ttl: 5_000 });
  // Status reads in flight, shared by the requests that miss at the same moment.
  private readonly activeLoads = new Map<string, Promise<boolean>>();
  private readonly maxAge: () => number;
  // Bumped by every invalidation, so that an answer read before one is not cached after it.
  private generation = 0;
  // A fixed hash to compare against when the client id is unknown, so both paths do the same work.
  private readonly dummyHash: string;

  constructor(private readonly parts: OAuthClientServiceParts) {
    this.dummyHash = parts.hasher.hash(parts.hasher.generate());
    this.maxAge = cacheMaxAge(parts.invalidation, 5_000);
    parts.invalidation.subscribe(TOPIC, ({ id }) => this.forget(id));
    // A client stands for its owner: deactivating or deleting the owner stops its tokens too.
    // User changes are rare, so any of them drops every answer rather than tracking owners.
    parts.invalidation.subscribe('user', () => this.forget('*'));
  }

  /** Creates a client; the plain secret is returned here and never again. */
  async create(input: { name: string; ownerId: string; scopes: readonly string[]; expiresAt?: number | null }, by: Actor): Promise<{ client: OAuthClient; secret: string }> {
    if (hasUnshowableCharacters(input.name)) throw new ValidationError('name must not contain control characters or bidirectional controls', { field: 'name' });
    const scopes = [...new Set(input.scopes)];
    for (const scope of scopes) if (!isPermission(scope)) throw new ValidationError(`scopes contains "${scope.slice(0, 80)}", which is not a resource:action permission`, { field: 'scopes' });
    const owner = await this.parts.db.selectFrom('users').select(['id', 'is_active']).where('id', '=', input.ownerId).executeTakeFirst();
    if (owner === undefined) throw new NotFoundError('The owner');
    // As for API keys: a client made now would escape the markers written when the owner was
    // deactivated, and work the moment the owner is reactivated.
    if (Number(owner.is_active) !== 1) throw new ValidationError('The owner is deactivated', { field: 'owner_id' });
    const held = await this.parts.ownerPermissions(input.ownerId);
    const excess = scopes.filter((s) => !anyCovers(held, s));
    if (excess.length > 0) {
      // A refused escalation is what probing for a way up looks like (as for API keys).
      await this.recordEscalation('client.created', by, { owner_id: input.ownerId, scopes: excess });
      throw new WardenError('privilege_escalation', `The owner does not hold ${excess.join(', ')}; a client cannot carry more than its owner`);
    }
    const now = this.parts.now();
    if (input.expiresAt != null && input.expiresAt <= now) throw new ValidationError('expires_at must be in the future', { field: 'expires_at' });
    await this.checkIssuerLimits(input.expiresAt ?? null, by, { action: 'client.created' });
    const secret = this.parts.hasher.generate();
    const row: OAuthClientsTable = {
      id: randomUUID(),
      name: input.name,
      owner_id: input.ownerId,
      secret_hash: this.parts.hasher.hash(secret),
      previous_secret_hash: null,
      previous_secret_expires_at: null,
      scopes: JSON.stringify(scopes),
      created_at: now,
      updated_at: now,
      expires_at: input.expiresAt ?? null,
      revoked_at: null,
      last_used_at: null,
    };
    try {
      await this.parts.db.insertInto('oauth_clients').values(row).execute();
    } catch (error) {
      // The owner was deleted after its check: as if it never was.
      if (isForeignKeyViolation(error)) throw new NotFoundError('The owner');
      throw error;
    }
    await this.record('client.created', row.id, by, { name: row.name, owner_id: row.owner_id, scopes });
    return { client: view(row), secret };
  }

  /** One page of clients, newest first (created_at, then id), optionally of one owner; `cursor` is the previous page's `next_cursor`. */
  async list(options: { ownerId?: string | undefined; limit: number; cursor?: string | undefined }): Promise<ListPage<OAuthClient>> {
    let query = this.parts.db.selectFrom('oauth_clients').selectAll();
    if (options.ownerId !== undefined) query = query.where('owner_id', '=', options.ownerId);
    if (options.cursor !== undefined) {
      // Keyset: strictly after the previous page's last client, so inserts meanwhile shift nothing.
      const before = decodePositionCursor('c', options.cursor);
      query = query.where((eb) =>
        eb.or([eb('created_at', '<', before.createdAt), eb.and([eb('created_at', '=', before.createdAt), eb('id', '<', before.id)])]),
      );
    }
    const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(options.limit + 1).execute();
    return pageOf(rows.map(view), options.limit, (last) => encodePositionCursor('c', { createdAt: last.created_at, id: last.client_id }));
  }

  async get(clientId: string): Promise<OAuthClient> {
    return view(await this.row(clientId));
  }

  /** Issues a new secret; the old one keeps working for `graceMs` (0 = stops at once). */
  async rotate(clientId: string, graceMs: number, by: Actor): Promise<{ client: OAuthClient; secret: string }> {
    const row = await this.row(clientId);
    if (row.revoked_at !== null) throw new WardenError('conflict', 'A revoked client cannot be rotated');
    // As for API keys: a fresh secret of a deactivated owner's client would work on reactivation.
    const owner = await this.parts.db.selectFrom('users').select('is_active').where('id', '=', row.owner_id).executeTakeFirst();
    if (owner === undefined || Number(owner.is_active) !== 1) throw new ValidationError('The owner is deactivated', { field: 'owner_id' });
    // The new secret works as long as the client does: handing it to an API key that stops
    // sooner would let the key outlive itself, as creating such a client would.
    await this.checkIssuerLimits(row.expires_at, by, { action: 'client.rotated', clientId });
    const now = this.parts.now();
    const secret = this.parts.hasher.generate();
    const update = {
      secret_hash: this.parts.hasher.hash(secret),
      previous_secret_hash: graceMs > 0 ? row.secret_hash : null,
      previous_secret_expires_at: graceMs > 0 ? now + graceMs : null,
      updated_at: now,
    };
    // Conditional on the row as read: a concurrent rotation would otherwise overwrite this one's
    // secret (handed out, never working) and make its own grace period start from a secret
    // nobody holds; a concurrent revocation would get a fresh secret written over it.
    const result = await this.parts.db
      .updateTable('oauth_clients')
      .set(update)
      .where('id', '=', clientId)
      .where('secret_hash', '=', row.secret_hash)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) throw new WardenError('conflict', 'The client was rotated or revoked at the same time; read it again and retry');
    // Cached secrets go, here and on every instance: an old secret without grace stops at once.
    this.forget(clientId);
    await this.announce(clientId);
    await this.record('client.rotated', clientId, by, { grace_period_ms: graceMs });
    return { client: view({ ...row, ...update }), secret };
  }

  /** Revokes a client at once: its secret stops working and its tokens fail verification. */
  async revoke(clientId: string, by: Actor): Promise<OAuthClient> {
    const row = await this.row(clientId);
    if (row.revoked_at !== null) return view(row);
    const now = this.parts.now();
    // Only the request that changes the row records the event: a concurrent revocation that
    // got there first leaves nothing for this one to audit.
    const result = await this.parts.db
      .updateTable('oauth_clients')
      .set({ revoked_at: now, updated_at: now })
      .where('id', '=', clientId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) return view(await this.row(clientId));
    // The revocation is in force from the commit: a failed announcement must not leave it
    // unaudited (a retry finds the client revoked and changes nothing), so it is reported only.
    await this.announce(clientId);
    await this.record('client.revoked', clientId, by, {});
    return view({ ...row, revoked_at: now });
  }

  /** Checks a client id and secret; every failure does the same hashing work. */
  async authenticate(clientId: string, secret: string): Promise<ClientAuthentication> {
    // Client ids are UUIDs: anything else (a NUL that PostgreSQL would refuse, a pasted secret)
    // is unknown without a query, after the same hashing work as a known one.
    const row = !CLIENT_ID.test(clientId) ? undefined : await this.authRow(clientId);
    const now = this.parts.now();
    const current = this.parts.hasher.matches(secret, row?.secret_hash ?? this.dummyHash);
    const previous =
      row?.previous_secret_hash != null && row.previous_secret_expires_at != null && row.previous_secret_expires_at > now
        ? this.parts.hasher.matches(secret, row.previous_secret_hash)
        : false;
    if (row === undefined) return { ok: false, reason: 'unknown_client' };
    if (!current && !previous) return { ok: false, reason: 'bad_secret' };
    if (row.revoked_at !== null) return { ok: false, reason: 'revoked' };
    if (row.expires_at !== null && row.expires_at <= now) return { ok: false, reason: 'expired' };
    if (Number(row.owner_active) !== 1) return { ok: false, reason: 'owner_inactive' };
    // last_used_at at minute granularity: one write per client per minute, not per grant.
    if (row.last_used_at === null || now - row.last_used_at > 60_000) {
      await this.parts.db.updateTable('oauth_clients').set({ last_used_at: now }).where('id', '=', clientId).execute();
      const cached = this.authCache.get(clientId);
      if (cached?.row === row) this.authCache.set(clientId, { row: { ...row, last_used_at: now }, loadedAt: cached.loadedAt });
    }
    return { ok: true, client: view(row) };
  }

  /** The row authentication checks a secret against: cached (as isActive's answers are), else read. */
  private async authRow(clientId: string): Promise<CachedAuthRow['row'] | undefined> {
    const cached = this.authCache.get(clientId);
    if (cached !== undefined && isFresh(cached.loadedAt, this.parts.now(), this.maxAge())) return cached.row;
    const generation = this.generation;
    const loadedAt = this.parts.now();
    const row = await this.parts.db
      .selectFrom('oauth_clients')
      .leftJoin('users', 'users.id', 'oauth_clients.owner_id')
      .selectAll('oauth_clients')
      .select('users.is_active as owner_active')
      .where('oauth_clients.id', '=', clientId)
      .executeTakeFirst();
    // Read before an invalidation: not kept, or a revocation could be served for a cache life.
    if (row !== undefined && generation === this.generation) this.authCache.set(clientId, { row, loadedAt });
    return row;
  }

  /**
   * The scopes a token may carry now: the client's scopes that its owner still holds (an
   * owner who lost a permission takes it from their clients' next tokens), narrowed to
   * `requested` when given. Undefined when `requested` asks for anything beyond that.
   */
  async grantableScopes(client: OAuthClient, requested?: readonly string[]): Promise<string[] | undefined> {
    const held = await this.parts.ownerPermissions(client.owner_id);
    if (requested === undefined) return client.scopes.filter((scope) => anyCovers(held, scope));
    const allowed = requested.every((scope) => isPermission(scope) && anyCovers(client.scopes, scope) && anyCovers(held, scope));
    return allowed ? [...requested] : undefined;
  }

  /**
   * Whether tokens of this client may still be honoured: not revoked, not expired, its owner
   * active. Cached briefly; revoking the client and any change to a user invalidate.
   */
  async isActive(clientId: string): Promise<boolean> {
    const cached = this.activeCache.get(clientId);
    if (cached !== undefined) {
      const now = this.parts.now();
      // An expiry that falls while the answer is cached takes effect on time.
      if (isFresh(cached.loadedAt, now, this.maxAge())) return cached.active && (cached.expiresAt === null || cached.expiresAt > now);
    }
    return sharedLoad(this.activeLoads, clientId, () => this.loadActive(clientId));
  }

  private async loadActive(clientId: string): Promise<boolean> {
    const generation = this.generation;
    const loadedAt = this.parts.now();
    const row = await this.parts.db
      .selectFrom('oauth_clients')
      .leftJoin('users', 'users.id', 'oauth_clients.owner_id')
      .select(['oauth_clients.revoked_at', 'oauth_clients.expires_at', 'users.is_active as owner_active'])
      .where('oauth_clients.id', '=', clientId)
      .executeTakeFirst();
    const now = this.parts.now();
    const active =
      row !== undefined && row.revoked_at === null && (row.expires_at === null || row.expires_at > now) && Number(row.owner_active) === 1;
    if (generation === this.generation) this.activeCache.set(clientId, { active, loadedAt, expiresAt: row?.expires_at ?? null });
    return active;
  }

  /**
   * Refuses (403 privilege_escalation, audited as denied) a secret handed to an API key or an
   * OAuth client (`apikey:<id>` / `client:<id>` actor) for a client that would outlive the
   * caller: the rule keys issued by a key follow (src/apikeys/issuer-limits.ts). Users and the
   * CLI are not bound by it.
   */
  private async checkIssuerLimits(
    expiresAt: number | null,
    by: Actor,
    attempt: { readonly action: 'client.created' | 'client.rotated'; readonly clientId?: string },
  ): Promise<void> {
    const escape = await issuerLimitEscape(this.parts.db, by.actor, { expiresAt: expiresAt ?? undefined }, attempt.action);
    if (escape === undefined) return;
    await this.recordEscalation(attempt.action, by, escape.fields, attempt.clientId);
    throw new WardenError('privilege_escalation', escape.message, { fields: escape.fields });
  }

  /** Records a refused escalation in the shape of a refused key escalation (api-key-service.ts), with the client as entity. */
  private async recordEscalation(action: 'client.created' | 'client.rotated', by: Actor, details: Record<string, unknown>, clientId?: string): Promise<void> {
    await this.parts.audit().record({
      action,
      actor: by.actor,
      entity_type: 'oauth_client',
      ...(clientId === undefined ? {} : { entity_id: clientId }),
      outcome: 'denied',
      ...(by.ip === undefined ? {} : { ip: by.ip }),
      ...(by.request_id === undefined ? {} : { request_id: by.request_id }),
      details: { reason: 'privilege_escalation', ...details },
    });
  }

  /** Tells other instances to drop their cached status of a client; a failure is reported, not thrown (see onAnnounceError). */
  private async announce(clientId: string): Promise<void> {
    try {
      await this.parts.invalidation.publish({ topic: TOPIC, id: clientId });
    } catch (error) {
      this.parts.onAnnounceError?.(error);
    }
  }

  private forget(clientId: string): void {
    this.generation += 1;
    // A read begun before the change is not joined after it.
    this.activeLoads.clear();
    if (clientId === '*') {
      this.activeCache.clear();
      this.authCache.clear();
    } else {
      this.activeCache.delete(clientId);
      this.authCache.delete(clientId);
    }
  }

  private async row(clientId: string): Promise<OAuthClientsTable> {
    const row = await this.parts.db.selectFrom('oauth_clients').selectAll().where('id', '=', clientId).executeTakeFirst();
    if (row === undefined) throw new NotFoundError('The OAuth client');
    return row;
  }

  private async record(action: 'client.created' | 'client.rotated' | 'client.revoked', clientId: string, by: Actor, details: Record<string, unknown>): Promise<void> {
    await this.parts.audit().record({
      action,
      actor: by.actor,
      entity_type: 'oauth_client',
      entity_id: clientId,
      outcome: 'success',
      ...(by.ip === undefined ? {} : { ip: by.ip }),
      ...(by.request_id === undefined ? {} : { request_id: by.request_id }),
      details,
    });
  }
}
