import type { Kysely, Transaction } from 'kysely';
import type { AuditEventInput, AuditRecorder } from '../audit/audit-event.js';
import { cacheMaxAge, isFresh } from '../cache/cache-max-age.js';
import type { InvalidationBus } from '../cache/invalidation-bus.js';
import { NotFoundError, ValidationError, WardenError } from '../errors/index.js';
import type { Principal } from '../http/principal.js';
import { inTransaction, isForeignKeyViolation, type DatabaseSchema } from '../storage/index.js';
import { actorId } from './audit-actor.js';
import { normalizePermissions } from './coarse-permissions.js';
import { distinctPermissions, loadGrants, type ResolvedGrant } from './effective-permissions.js';
import { isRoleDescription, isRoleName, isScope } from './names.js';
import { PermissionCache } from './permission-cache.js';
import { PermissionSet } from './permission-set.js';
import { anyCovers, isPermission } from './permission-match.js';
import { chainLengthThrough, findCycle, lineage, MAX_INHERITANCE_DEPTH, resolveRole, type RoleNode } from './role-graph.js';
import { roleStore, type MembershipRecord, type RoleChanges, type RoleRecord } from './role-store.js';
import { sharedLoad } from '../cache/shared-load.js';

/** Who asks for a change, for privilege checks and the audit trail. */
export interface AuthzActor {
  readonly principal: Principal;
  /** Overrides the audit actor derived from the principal (the CLI records `system`). */
  readonly auditActor?: string;
  readonly ip?: string;
  readonly userAgent?: string;
  readonly requestId?: string;
}

export interface RoleInput {
  readonly name: string;
  readonly description?: string | undefined;
  readonly permissions: readonly string[];
  readonly inherits?: readonly string[];
}

export interface RolePatch {
  readonly description?: string | null;
  readonly permissions?: readonly string[];
  readonly inherits?: readonly string[];
}

export interface AuthzServiceOptions {
  readonly db: Kysely<DatabaseSchema>;
  readonly invalidation: InvalidationBus;
  /** Looked up at each call: the audit recorder may be replaced after this service is built. */
  readonly audit: () => AuditRecorder;
  /**
   * Longest life of the cached role table and effective permissions; invalidation is the
   * normal refresh path, this only bounds a lost message (WARDEN_AUTHZ_CACHE_TTL_MS). @default 30_000
   */
  readonly cacheTtlMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** An audit event of this domain, before the actor and request facts are added. */
type AuthzAuditEvent = Omit<AuditEventInput, 'actor' | 'outcome'> & { outcome?: AuditEventInput['outcome'] };

/** What a refused escalation was aimed at, for the audit trail. */
interface EscalationTarget {
  readonly entity_type: 'role' | 'user';
  readonly entity_id: string;
  readonly details: Record<string, unknown>;
}

/** The role table and when it was read. */
interface RoleTable {
  readonly map: Map<string, RoleRecord>;
  readonly loadedAt: number;
}

/**
 * A role write decided on one read of the role table, to be carried out under the role-write
 * lock. The escalation check cannot run there (it reads through other services on the outer
 * `db`, which on SQLite would wait forever for the transaction's one connection), so the write
 * proceeds only if the rows that check rested on are unchanged under the lock.
 */
interface RoleWritePlan<T> {
  /** The role table the checks were made on. */
  readonly checkedOn: ReadonlyMap<string, RoleRecord>;
  /** The roles whose lineage (themselves and every ancestor) the escalation check read. */
  readonly dependsOn: readonly string[];
  /** The write, given the role table as read under the lock; checks that need no other service run again here. */
  readonly write: (trx: Transaction<DatabaseSchema>, roles: ReadonlyMap<string, RoleRecord>) => Promise<T>;
}

const TOPIC = 'authz';
const ROLES_KEY = '\u0000roles';
/** Tries of a role write whose checked rows keep changing before it answers 409 conflict. */
const ROLE_WRITE_ATTEMPTS = 3;

/**
 * Roles, memberships and permission checks. Reads go through a per-subject cache that every
 * change invalidates on all instances (topic 'authz'; topic 'user' for is_admin/is_active).
 */
export class AuthzService {
  readonly #db: Kysely<DatabaseSchema>;
  readonly #bus: InvalidationBus;
  readonly #audit: () => AuditRecorder;
  readonly #now: () => number;
  readonly #cache: PermissionCache;
  readonly #maxAge: () => number;
  #roles: RoleTable | undefined;
  #rolesLoading: Promise<RoleTable> | undefined;
  readonly #unsubscribe: (() => void)[];
  /** Compiled matchers of cached grant lists (keyed by the cached array, so they go with it). */
  readonly #compiled = new WeakMap<readonly ResolvedGrant[], PermissionSet>();
  readonly #loading = new Map<string, Promise<readonly ResolvedGrant[]>>();

  constructor(options: AuthzServiceOptions) {
    this.#db = options.db;
    this.#bus = options.invalidation;
    this.#audit = options.audit;
    this.#now = options.now ?? Date.now;
    this.#maxAge = cacheMaxAge(options.invalidation, options.cacheTtlMs ?? 30_000);
    this.#cache = new PermissionCache({ ttlMs: this.#maxAge, now: this.#now });
    const drop = (id: string): void => {
      if (id === '*' || id === ROLES_KEY) this.#roles = undefined;
      this.#cache.invalidate(id === ROLES_KEY ? '*' : id);
      // A load in flight may predate the change: later callers must not join it.
      this.#loading.clear();
      this.#rolesLoading = undefined;
    };
    this.#unsubscribe = [this.#bus.subscribe(TOPIC, (m) => drop(m.id)), this.#bus.subscribe('user', (m) => drop(m.id))];
  }

  /** Stops listening for invalidations. */
  close(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
  }

  // ---- checks -------------------------------------------------------------------------

  /** A user's effective permission strings in a scope (global memberships always count). */
  async effectivePermissions(subject: string, scope?: string): Promise<string[]> {
    return distinctPermissions(await this.grants(subject, scope));
  }

  /** A user's effective permissions with where each came from. */
  async grants(subject: string, scope?: string): Promise<readonly ResolvedGrant[]> {
    const cached = this.#cache.get(subject, scope);
    if (cached !== undefined) return cached;
    // One load per subject and scope at a time: a burst of requests after an expiry waits
    // for the same query instead of each running its own.
    const key = `${subject}\u0000${scope ?? ''}`;
    return sharedLoad(this.#loading, key, async () => {
      const generation = this.#cache.generation();
      const startedAt = this.#now();
      const roles = await this.#roleTable();
      const grants = await loadGrants(this.#db, roles.map, subject, scope);
      // Aged from the older of its two reads: a role table cached for most of its TTL must
      // not start the grants built from it on a fresh one (that would double the bound).
      this.#cache.set(subject, scope, grants, generation, Math.min(startedAt, roles.loadedAt));
      return grants;
    });
  }

  /** Whether a user (by id) holds a permission in a scope, from roles alone. */
  async check(subject: string, permission: string, scope?: string): Promise<boolean> {
    if (!isPermission(permission)) return false;
    return (await this.#permissionSet(subject, scope)).covers(permission);
  }

  /**
   * Whether a principal holds a permission. Users hold their roles' permissions, narrowed to the
   * token's own list when that list is not empty (a restricted token). An API key holds what it
   * carries *and* its owner still holds: a demoted owner takes the permission from their keys at
   * once, as from their OAuth clients' next tokens. An OAuth client's token holds what it carries
   * (capped by the owner's permissions when it was issued, minutes ago).
   */
  async can(principal: Principal, permission: string, scope?: string): Promise<boolean> {
    return this.canCached(principal, permission, scope) ?? (await this.#permissionSet(principal.subject, scope)).covers(permission);
  }

  /**
   * `can()` answered without waiting: undefined when it needs the subject's grants and they
   * are not cached. The auth guard asks this first, so a cached check costs no promise.
   */
  canCached(principal: Principal, permission: string, scope?: string): boolean | undefined {
    if (!isPermission(permission)) return false;
    const restriction = credentialPermissions(principal);
    if (principal.kind === 'client') return anyCovers(restriction, permission);
    // A user's empty list means an unrestricted token, unless a scope claim restricted it (to
    // nothing); a key's list is its whole grant.
    if ((restriction.length > 0 || principal.restricted === true || principal.kind === 'api_key') && !anyCovers(restriction, permission)) return false;
    const grants = this.#cache.get(principal.subject, scope);
    return grants === undefined ? undefined : this.#compiledSet(grants).covers(permission);
  }

  async #permissionSet(subject: string, scope: string | undefined): Promise<PermissionSet> {
    return this.#compiledSet(await this.grants(subject, scope));
  }

  /** The matcher of a grant list, compiled once per cached list. */
  #compiledSet(grants: readonly ResolvedGrant[]): PermissionSet {
    let set = this.#compiled.get(grants);
    if (set === undefined) {
      set = new PermissionSet(grants.map((g) => g.permission));
      this.#compiled.set(grants, set);
    }
    return set;
  }

  /** The permissions in `wanted` the principal does not hold (empty = may grant them all). */
  async notHeld(principal: Principal, wanted: readonly string[], scope?: string): Promise<string[]> {
    const missing: string[] = [];
    for (const permission of new Set(wanted)) if (!(await this.can(principal, permission, scope))) missing.push(permission);
    return missing;
  }

  /** What granting these roles (globally) would hand out that the principal does not hold; unknown roles add nothing. */
  async notHeldThroughRoles(principal: Principal, roleNames: readonly string[]): Promise<string[]> {
    const roles = await this.roles();
    const wanted = roleNames.filter((name) => roles.has(name)).flatMap((name) => resolveRole(roles, name).map((r) => r.permission));
    return this.notHeld(principal, wanted);
  }

  // ---- roles --------------------------------------------------------------------------

  /** Every role, by name (cached; invalidated by any role change). */
  async roles(): Promise<ReadonlyMap<string, RoleRecord>> {
    return (await this.#roleTable()).map;
  }

  async #roleTable(): Promise<RoleTable> {
    const current = this.#roles;
    if (current !== undefined && isFresh(current.loadedAt, this.#now(), this.#maxAge())) return current;
    // One role-table load at a time: concurrent misses (any subject, any scope) wait for it
    // instead of each reading the whole table.
    const pending = this.#rolesLoading;
    if (pending !== undefined) return pending;
    const generation = this.#cache.generation();
    // The age counts from before the read, so the TTL bounds how old the data itself is.
    const loadedAt = this.#now();
    const load = roleStore.allRoles(this.#db).then((map) => {
      const table = { map, loadedAt };
      if (generation === this.#cache.generation()) this.#roles = table;
      return table;
    });
    this.#rolesLoading = load;
    try {
      return await load;
    } finally {
      if (this.#rolesLoading === load) this.#rolesLoading = undefined;
    }
  }

  /** One role, fresh from the database. */
  async getRole(name: string): Promise<RoleRecord> {
    const role = isRoleName(name) ? await roleStore.getRole(this.#db, name) : undefined;
    if (role === undefined) throw new NotFoundError('Role');
    return role;
  }

  /** Every role, fresh from the database, ordered by name. */
  async listRoles(): Promise<RoleRecord[]> {
    return [...(await roleStore.allRoles(this.#db)).values()];
  }

  /** Creates a role; the caller must hold every permission it would grant. */
  async createRole(actor: AuthzActor, input: RoleInput): Promise<RoleRecord> {
    if (!isRoleName(input.name)) throw new ValidationError('The role name must be 1–64 characters of A-Z a-z 0-9 _ . - starting with a letter or digit', { field: 'name' });
    const description = checkDescription(input.description);
    const permissions = checkPermissions(input.permissions);
    const inherits = [...new Set(input.inherits ?? [])];
    await this.#writeRoles(async () => {
      const roles = await roleStore.allRoles(this.#db);
      this.#checkParents(roles, input.name, inherits);
      await this.#refuseEscalation(actor, this.#wouldGrant(roles, { name: input.name, permissions, inherits }), undefined, {
        entity_type: 'role',
        entity_id: input.name,
        details: { operation: 'role.create' },
      });
      return {
        checkedOn: roles,
        dependsOn: inherits,
        write: async (trx, current) => {
          // A parent deleted since the check must not be stored as a dangling name, which a
          // later role of that name would silently fill.
          this.#checkParents(current, input.name, inherits);
          // `Admin` beside `admin` decides nothing differently, but misleads whoever reads a
          // role list, /v1/auth/me or the audit log.
          const twin = [...current.keys()].find((other) => other !== input.name && other.toLowerCase() === input.name.toLowerCase());
          if (twin !== undefined) throw new WardenError('conflict', `A role named ${twin} exists; role names may not differ only in case`, { fields: { name: input.name } });
          const created = await roleStore.insertRole(trx, { name: input.name, description, permissions, inherits }, this.#now());
          if (!created) throw new WardenError('conflict', 'A role with this name already exists', { fields: { name: input.name } });
        },
      };
    });
    await this.#committed(actor, ROLES_KEY, [{ action: 'role.created', entity_type: 'role', entity_id: input.name, details: { permissions, inherits } }]);
    return this.getRole(input.name);
  }

  /** Changes a role's description, permissions or parents; fields the patch leaves out keep their current value. */
  async updateRole(actor: AuthzActor, name: string, patch: RolePatch): Promise<RoleRecord> {
    const events = await this.#writeRoles(async () => {
      const roles = await roleStore.allRoles(this.#db);
      const change = roleChange(roles, name, patch);
      this.#checkParents(roles, name, change.inherits);
      // Touching a role needs what it grants now and what it will grant.
      const { before, after } = this.#grantsAround(roles, name, change);
      await this.#refuseEscalation(actor, [...before, ...after], undefined, { entity_type: 'role', entity_id: name, details: { operation: 'role.update' } });
      return {
        checkedOn: roles,
        dependsOn: [name, ...change.inherits],
        write: async (trx, current) => {
          // Recomputed from the rows now locked: the audited diff is against what is replaced.
          const applied = roleChange(current, name, patch);
          this.#checkParents(current, name, applied.inherits);
          const grants = this.#grantsAround(current, name, applied);
          if (!(await roleStore.updateRole(trx, name, applied.changes, this.#now()))) throw new NotFoundError('Role');
          // Granted/revoked are what the role grants in effect, inherited included: adding a parent
          // such as `admin` widens the role exactly like listing `*:*`, and must be as visible.
          const added = grants.after.filter((p) => !grants.before.includes(p));
          const removed = grants.before.filter((p) => !grants.after.includes(p));
          const recorded: AuthzAuditEvent[] = [
            {
              action: 'role.updated',
              entity_type: 'role',
              entity_id: name,
              details: { permissions: applied.permissions, inherits: applied.inherits, description_changed: applied.description !== applied.existing.description },
            },
          ];
          if (added.length > 0) recorded.push({ action: 'permission.granted', entity_type: 'role', entity_id: name, details: { permissions: added } });
          if (removed.length > 0) recorded.push({ action: 'permission.revoked', entity_type: 'role', entity_id: name, details: { permissions: removed } });
          return recorded;
        },
      };
    });
    await this.#committed(actor, ROLES_KEY, events);
    return this.getRole(name);
  }

  /** Deletes a role that nobody holds and no role inherits from. */
  async deleteRole(actor: AuthzActor, name: string): Promise<void> {
    await this.#writeRoles(async () => {
      const roles = await roleStore.allRoles(this.#db);
      if (!roles.has(name)) throw new NotFoundError('Role');
      await this.#refuseEscalation(actor, resolveRole(roles, name).map((r) => r.permission), undefined, { entity_type: 'role', entity_id: name, details: { operation: 'role.delete' } });
      return {
        checkedOn: roles,
        dependsOn: [name],
        write: async (trx, current) => {
          // Heirs and memberships are counted under the lock: a role made to inherit this one
          // since the check would otherwise be left with a dangling parent.
          const heirs = [...current.values()].filter((r) => r.name !== name && r.inherits.includes(name)).map((r) => r.name);
          const members = await roleStore.countMemberships(trx, name);
          if (members > 0 || heirs.length > 0) {
            throw new WardenError('role_in_use', 'The role is assigned or inherited; remove those first', { fields: { memberships: members, inherited_by: heirs } });
          }
          let deleted: boolean;
          try {
            deleted = await roleStore.deleteRole(trx, name);
          } catch (error) {
            // Only the foreign key is "in use" (a membership written by code that takes no
            // role-write lock); a lost connection or a timeout is an outage, not a 409.
            if (!isForeignKeyViolation(error)) throw error;
            throw new WardenError('role_in_use', 'The role is assigned; remove the memberships first', { cause: error });
          }
          if (!deleted) throw new NotFoundError('Role');
        },
      };
    });
    await this.#committed(actor, ROLES_KEY, [{ action: 'role.deleted', entity_type: 'role', entity_id: name }]);
  }

  /**
   * Carries out a role write planned by `plan` (first read, checks), in a transaction that
   * holds the role-write lock. When a row the plan's checks rested on changed between its read
   * and the lock, the plan is run again from the start on fresh rows.
   */
  async #writeRoles<T>(plan: () => Promise<RoleWritePlan<T>>): Promise<T> {
    for (let attempt = 1; attempt <= ROLE_WRITE_ATTEMPTS; attempt++) {
      const { checkedOn, dependsOn, write } = await plan();
      const outcome = await inTransaction(this.#db, async (trx): Promise<{ done: true; value: T } | { done: false }> => {
        await roleStore.lockRoleWrites(trx);
        const current = await roleStore.allRoles(trx);
        if (lineageChanged(checkedOn, current, dependsOn)) return { done: false };
        return { done: true, value: await write(trx, current) };
      });
      if (outcome.done) return outcome.value;
    }
    throw new WardenError('conflict', 'The roles this change depends on kept changing while it was checked; retry it', { fields: { attempts: ROLE_WRITE_ATTEMPTS } });
  }

  /** What the role grants in effect now and would grant after `change` (distinct permissions). */
  #grantsAround(roles: ReadonlyMap<string, RoleRecord>, name: string, change: { permissions: readonly string[]; inherits: readonly string[] }): { before: string[]; after: string[] } {
    return {
      before: [...new Set(resolveRole(roles, name).map((r) => r.permission))],
      after: [...new Set(this.#wouldGrant(roles, { name, permissions: change.permissions, inherits: change.inherits }))],
    };
  }

  // ---- memberships --------------------------------------------------------------------

  /** A user's memberships in every scope. */
  async memberships(userId: string): Promise<MembershipRecord[]> {
    if ((await roleStore.userFlags(this.#db, userId)) === undefined) throw new NotFoundError('User');
    return roleStore.allMembershipsOf(this.#db, userId);
  }

  /** Gives a user a role (in a scope); true when new. The caller must hold what the role grants. */
  async assignRole(actor: AuthzActor, input: { userId: string; role: string; scope?: string | undefined }): Promise<boolean> {
    // Under the role-write lock, like role writes: a role deleted and re-created with more
    // between the check and the insert would hand out what the check never saw.
    const added = await this.#writeRoles(async () => ({
      checkedOn: await this.#membershipPreconditions(actor, input, 'membership.add'),
      dependsOn: [input.role],
      write: async (trx) => {
        if ((await roleStore.userFlags(trx, input.userId)) === undefined) throw new NotFoundError('User');
        try {
          return await roleStore.addMembership(trx, { ...input, scope: input.scope, createdBy: actorId(actor.principal) }, this.#now());
        } catch (error) {
          // Deleted after the read just above (PostgreSQL reads committed rows): gone all the same.
          if (isForeignKeyViolation(error)) throw new NotFoundError('User');
          throw error;
        }
      },
    }));
    // A membership already held is recorded as a repeat: the retry of a grant whose audit write
    // failed (503 after the commit) is then what puts it on record.
    const details = { role: input.role, scope: input.scope ?? null, ...(added ? {} : { repeat: true }) };
    await this.#committed(actor, input.userId, [{ action: 'membership.added', entity_type: 'user', entity_id: input.userId, details }]);
    return added;
  }

  /** Takes a role (in a scope) away from a user. */
  async removeRole(actor: AuthzActor, input: { userId: string; role: string; scope?: string | undefined }): Promise<void> {
    // Under the role-write lock too: a role widened between the check and the delete (to `*:*`,
    // say) must not be stripped by a caller who no longer holds what it grants.
    await this.#writeRoles(async () => ({
      checkedOn: await this.#membershipPreconditions(actor, input, 'membership.remove'),
      dependsOn: [input.role],
      write: async (trx) => {
        if (!(await roleStore.removeMembership(trx, { ...input, scope: input.scope }))) throw new NotFoundError('Membership');
      },
    }));
    await this.#committed(actor, input.userId, [{ action: 'membership.removed', entity_type: 'user', entity_id: input.userId, details: { role: input.role, scope: input.scope ?? null } }]);
  }

  /** Checks a membership change and returns the role table it was checked on. */
  async #membershipPreconditions(actor: AuthzActor, input: { userId: string; role: string; scope?: string | undefined }, operation: string): Promise<ReadonlyMap<string, RoleRecord>> {
    if (input.scope !== undefined && !isScope(input.scope)) throw new ValidationError('The scope must be 1–128 characters of A-Z a-z 0-9 _ . : -', { field: 'scope' });
    if ((await roleStore.userFlags(this.#db, input.userId)) === undefined) throw new NotFoundError('User');
    const roles = await roleStore.allRoles(this.#db);
    if (!roles.has(input.role)) throw new NotFoundError('Role');
    await this.#refuseEscalation(actor, resolveRole(roles, input.role).map((r) => r.permission), input.scope, {
      entity_type: 'user',
      entity_id: input.userId,
      details: { operation, role: input.role, scope: input.scope ?? null },
    });
    return roles;
  }

  // ---- internals ----------------------------------------------------------------------

  #checkParents(roles: ReadonlyMap<string, RoleRecord>, name: string, inherits: readonly string[]): void {
    const unknown = inherits.filter((parent) => !roles.has(parent) && parent !== name);
    if (unknown.length > 0) throw new ValidationError('Inherited roles must exist', { field: 'inherits', unknown });
    const cycle = findCycle(roles, name, inherits);
    if (cycle !== undefined) throw new WardenError('role_cycle', `Inheritance would create a cycle: ${cycle.join(' → ')}`, { fields: { cycle } });
    // The chain through this role is checked with its new parents: joining two shallow
    // chains in the middle deepens every heir above it too.
    const next = new Map<string, RoleNode>(roles);
    next.set(name, { name, permissions: [], inherits });
    const depth = chainLengthThrough(next, name);
    if (depth > MAX_INHERITANCE_DEPTH) {
      throw new ValidationError(`Inheritance chains may pass through at most ${MAX_INHERITANCE_DEPTH} roles`, { field: 'inherits', max_depth: MAX_INHERITANCE_DEPTH });
    }
  }

  #wouldGrant(roles: ReadonlyMap<string, RoleRecord>, role: { name: string; permissions: readonly string[]; inherits: readonly string[] }): string[] {
    const next = new Map(roles);
    next.set(role.name, { ...(roles.get(role.name) ?? { description: undefined, builtin: false, createdAt: 0, updatedAt: 0 }), ...role });
    return resolveRole(next, role.name).map((r) => r.permission);
  }

  async #refuseEscalation(actor: AuthzActor, wanted: readonly string[], scope: string | undefined, target: EscalationTarget): Promise<void> {
    const missing = await this.notHeld(actor.principal, wanted, scope);
    if (missing.length === 0) return;
    // The target is recorded too: "who tried to make whom admin" is what an investigator asks.
    await this.#record(actor, {
      action: 'permission.granted',
      outcome: 'denied',
      entity_type: target.entity_type,
      entity_id: target.entity_id,
      details: { ...target.details, reason: 'privilege_escalation', missing },
    });
    throw new WardenError('privilege_escalation', 'You cannot grant or change permissions you do not hold yourself', { fields: { permissions: missing } });
  }

  /**
   * After a change is in the database: tells every instance, then audits it. A failed publish
   * (Redis down; this instance's caches were told first) must not also lose the audit trail
   * of a change that already took effect, so the events are written before it is rethrown.
   */
  async #committed(actor: AuthzActor, id: string, events: readonly AuthzAuditEvent[]): Promise<void> {
    let failure: { error: unknown } | undefined;
    try {
      await this.#bus.publish({ topic: TOPIC, id });
    } catch (error) {
      failure = { error };
    }
    for (const event of events) await this.#record(actor, event);
    if (failure !== undefined) throw failure.error;
  }

  async #record(actor: AuthzActor, event: AuthzAuditEvent): Promise<void> {
    await this.#audit().record({
      outcome: 'success',
      ...event,
      actor: actor.auditActor ?? actorId(actor.principal),
      ...(actor.ip === undefined ? {} : { ip: actor.ip }),
      ...(actor.userAgent === undefined ? {} : { user_agent: actor.userAgent }),
      ...(actor.requestId === undefined ? {} : { request_id: actor.requestId }),
    });
  }
}

/** A role patch applied to the role as `roles` has it: the row's resulting values, and the fields to write. */
function roleChange(
  roles: ReadonlyMap<string, RoleRecord>,
  name: string,
  patch: RolePatch,
): { existing: RoleRecord; description: string | undefined; permissions: string[]; inherits: string[]; changes: RoleChanges } {
  const existing = roles.get(name);
  if (existing === undefined) throw new NotFoundError('Role');
  const description = patch.description === undefined ? existing.description : checkDescription(patch.description ?? undefined);
  const permissions = patch.permissions === undefined ? [...existing.permissions] : checkPermissions(patch.permissions);
  const inherits = patch.inherits === undefined ? [...existing.inherits] : [...new Set(patch.inherits)];
  const changes: RoleChanges = {
    ...(patch.description === undefined ? {} : { description: description ?? null }),
    ...(patch.permissions === undefined ? {} : { permissions }),
    ...(patch.inherits === undefined ? {} : { inherits }),
  };
  return { existing, description, permissions, inherits, changes };
}

/**
 * Whether any role in the lineage of `starts`, in either table, differs between the two in
 * what it grants or inherits (or exists in one only). The lineage is taken in both: a parent
 * added since the first read is in the second's only.
 */
function lineageChanged(first: ReadonlyMap<string, RoleRecord>, second: ReadonlyMap<string, RoleRecord>, starts: readonly string[]): boolean {
  const names = new Set([...lineage(first, starts), ...lineage(second, starts)]);
  for (const name of names) {
    const a = first.get(name);
    const b = second.get(name);
    if (a === undefined || b === undefined) {
      if (a !== b) return true;
    } else if (!sameList(a.permissions, b.permissions) || !sameList(a.inherits, b.inherits)) {
      return true;
    }
  }
  return false;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

/** A credential's own permission list; the bare `*` some tokens carry means `*:*`. */
function credentialPermissions(principal: Principal): readonly string[] {
  return principal.permissions.map((p) => (p === '*' ? '*:*' : p));
}

function checkDescription(description: string | undefined): string | undefined {
  if (description !== undefined && !isRoleDescription(description)) {
    throw new ValidationError('The description must be at most 500 characters without control characters', { field: 'description' });
  }
  return description;
}

function checkPermissions(input: readonly string[]): string[] {
  const result = normalizePermissions(input);
  if (!result.ok) throw new ValidationError('Permissions must be resource:action strings (wildcards allowed) or read/write/delete/manage/admin', { field: 'permissions', invalid: result.invalid });
  return result.permissions;
}
