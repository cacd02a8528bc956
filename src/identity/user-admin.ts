import type { AuditRecorder } from '../audit/audit-event.js';
import { hasUnshowableCharacters } from '../authz/names.js';
import { passwordHashScheme, passwordHashVerifiable } from '../crypto/password-hashing.js';
import { ValidationError, WardenError } from '../errors/index.js';
import type { AuthService, RequestFacts } from './auth-service.js';
import type { PasswordService } from './password-service.js';
import type { UserStatusCache } from './user-status-cache.js';
import { normaliseEmail, type User, type UserStore, type WriteGuard } from './user-store.js';

export interface UserAdminParts {
  readonly users: UserStore;
  readonly passwords: PasswordService;
  readonly userStatus: UserStatusCache;
  readonly auth: AuthService;
  readonly audit: () => AuditRecorder;
  /** Runs once a user exists (default roles); `by` is who created it. */
  readonly afterCreate?: (user: User, by: Actor) => Promise<void>;
  /** The ids of the OAuth clients a user owns (set by the OAuth domain, created after identity). */
  readonly clientsOwnedBy?: () => ((ownerId: string) => Promise<readonly string[]>) | undefined;
  /** How long an access token lives: how long a missed revocation matters. */
  readonly accessTokenLifetimeMs: number;
  /** WARDEN_CLOCK_SKEW: how far ahead another instance's clock may run (and its tokens' iat). */
  readonly clockSkewMs: number;
  readonly now: () => number;
}

/** Who asked for a change (audit actor) and from where. */
export interface Actor extends RequestFacts {
  /** A user id, `apikey:<id>`, `client:<client_id>` (src/authz/audit-actor.ts), or `system` for the CLI. */
  readonly actor: string;
}


/** Ids listed per kind in a deletion's audit event: 50 UUIDs stay well inside the 8 KiB of details. */
const MAX_LISTED_CREDENTIALS = 50;

/** What a user deletion took with it, for its audit event: the live keys' and clients' ids, and how many. */
function credentialsDetails(gone: { apiKeys: readonly string[]; oauthClients: readonly string[] }): Record<string, unknown> {
  const list = (ids: readonly string[]) => ({ ids: ids.slice(0, MAX_LISTED_CREDENTIALS), count: ids.length });
  return { keys_deleted: list(gone.apiKeys), clients_deleted: list(gone.oauthClients) };
}

/** Refuses a display name that holds characters it could be spoofed or broken with. */
function checkName(name: string | null | undefined): void {
  if (typeof name === 'string' && hasUnshowableCharacters(name)) {
    throw new ValidationError('name must not contain control characters or bidirectional controls', { field: 'name' });
  }
  // The HTTP schema's bound, for the CLI, imports and library callers too.
  if (typeof name === 'string' && [...name].length > MAX_NAME_CHARS) throw new ValidationError(`name must be at most ${MAX_NAME_CHARS} characters`, { field: 'name' });
}

const MAX_NAME_CHARS = 200;

/** User management with its side effects: policy, hashing, audit, cache invalidation, session revocation. */
export class UserAdmin {
  constructor(private readonly parts: UserAdminParts) {}

  /** Creates a user after checking the password policy. */
  async create(input: { email: string; password: string; name?: string | null; isAdmin?: boolean }, by: Actor): Promise<User> {
    checkName(input.name);
    const email = normaliseEmail(input.email);
    this.parts.passwords.assertAcceptable(input.password, { email });
    const passwordHash = await this.parts.passwords.hash(input.password);
    const user = await this.parts.users.create({ email, passwordHash, name: input.name ?? null, isAdmin: input.isAdmin === true });
    await this.record(by, 'user.created', user.id, { is_admin: user.isAdmin });
    await this.parts.afterCreate?.(user, by);
    return user;
  }

  /**
   * Imports a user with an existing hash from another system (bcrypt, PBKDF2-SHA256, scrypt or
   * argon2); it is re-hashed to argon2id at the user's next successful login.
   */
  async importWithHash(input: { email: string; passwordHash: string; name?: string | null; isAdmin?: boolean; isActive?: boolean }, by: Actor): Promise<User> {
    checkName(input.name);
    if (passwordHashScheme(input.passwordHash) === undefined) {
      throw new ValidationError('password_hash is not a supported encoding (argon2, bcrypt, PBKDF2-SHA256, scrypt)', { field: 'password_hash' });
    }
    // Such a user could never sign in, and nothing would say why.
    if (!passwordHashVerifiable(input.passwordHash)) {
      throw new ValidationError('password_hash is malformed or its cost parameters exceed what Warden verifies (docs/encryption.md)', { field: 'password_hash' });
    }
    const user = await this.parts.users.create({
      email: input.email,
      passwordHash: input.passwordHash,
      name: input.name ?? null,
      isAdmin: input.isAdmin === true,
      isActive: input.isActive !== false,
    });
    // As create() does: an imported administrator (or a dormant account) must be visible in the audit.
    await this.record(by, 'user.created', user.id, { imported: true, is_admin: user.isAdmin, ...(user.isActive ? {} : { is_active: false }) });
    await this.parts.afterCreate?.(user, by);
    return user;
  }

  /**
   * Updates name/flags; deactivation ends every session and token of the user, and of the
   * user's OAuth clients, at once; removing the admin flag ends the user's access tokens (their
   * sessions stay: a refresh issues tokens without the admin role). If that revocation fails, the
   * committed change is still audited (`details.revocation: "failed"`) before the error propagates.
   * A reactivation, and a demotion asked again soon after, close what such a failure left open.
   */
  async update(id: string, changes: { name?: string | null; isActive?: boolean; isAdmin?: boolean }, by: Actor, options: { guard?: WriteGuard } = {}): Promise<User | undefined> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.updateOnce(id, changes, by, options);
      } catch (error) {
        // A deactivation committed between this update's first read and its write: go again,
        // so that what that deactivation could not close is closed before the reactivation.
        if (!(error instanceof DeactivatedMeanwhile)) throw error;
        if (attempt === 3) throw new WardenError('conflict', 'The user was deactivated again and again while this update was prepared; retry it');
      }
    }
  }

  /** One attempt of `update`; throws DeactivatedMeanwhile (nothing written) when a reactivation finds the user deactivated since its first read. */
  private async updateOnce(id: string, changes: { name?: string | null; isActive?: boolean; isAdmin?: boolean }, by: Actor, options: { guard?: WriteGuard }): Promise<User | undefined> {
    checkName(changes.name);
    // Only to decide what must be closed before a reactivation; what this write changed is
    // decided on the store's own before/after below, read under the row's lock.
    const current = await this.parts.users.findById(id);
    if (current === undefined) return undefined;
    // A deactivation whose revocation failed left the user's access tokens unmarked, refused only
    // while the user stays inactive. Before the user is active again, every token issued so far
    // (none since the deactivation: an inactive user gets none) is denied; if that cannot be
    // written, the user stays inactive and the caller gets the error.
    // Its sessions too: an inactive user cannot sign in, so any session still open predates the
    // deactivation (whose ending of them failed), and its refresh token must not work again.
    let sessionsEnded = 0;
    if (!current.isActive && changes.isActive === true) {
      await runEach([
        () => this.parts.auth.revokeIssuedTokens(id),
        () => this.revokeClientTokens(id, this.parts.now()),
        async () => void (sessionsEnded = await this.parts.auth.endSessionsOf(id, 'user_reactivated')),
      ]);
    }
    const reactivationPrepared = !current.isActive && changes.isActive === true;
    const written = await this.parts.users.update(id, changes, options.guard, (locked) => {
      if (!locked.isActive && changes.isActive === true && !reactivationPrepared) throw new DeactivatedMeanwhile();
    });
    if (written === undefined) return undefined;
    const { before, after: user } = written;
    // Never throws (a lost announcement is logged): the change is committed, so what follows
    // must run whatever the bus does.
    await this.parts.userStatus.invalidate(id);
    const deactivated = before.isActive && !user.isActive;
    // Asked again (after a 503, say): what the first attempt could not end is ended now.
    const deactivationRetried = !before.isActive && changes.isActive === false;
    // Issued tokens carry `roles: ["admin"]`, which services verifying with only the JWKS read as
    // every permission (fastify-token-guard.ts): they must not outlive the demotion. A demotion
    // asked again within one token lifetime of the user's last change is a retry (its revocation
    // may have failed, answering 503): the marker is written again, dated at that change, so
    // tokens issued since then (without the role) stay valid.
    const demoted = before.isAdmin && !user.isAdmin;
    const demotionRetried = !before.isAdmin && changes.isAdmin === false && before.updatedAt > this.parts.now() - this.parts.accessTokenLifetimeMs;
    const action = deactivated ? 'user.deactivated' : 'user.updated';
    const fields = Object.keys(changes).map((k) => ({ isActive: 'is_active', isAdmin: 'is_admin', name: 'name' })[k] ?? k);
    // The flags whose value this change moved, with their new value: "who made X an
    // administrator, who gave the account back" must be answerable, and a re-send of the same
    // value told apart from a change.
    const flags = {
      ...(before.isAdmin !== user.isAdmin ? { is_admin: user.isAdmin } : {}),
      ...(before.isActive !== user.isActive ? { is_active: user.isActive } : {}),
    };
    const changed = Object.keys(flags).length > 0 ? { changed: flags } : {};
    try {
      if (deactivated || deactivationRetried) {
        await runEach([() => this.parts.auth.logoutAll(id, by, { reason: 'user_deactivated', actor: by.actor }), () => this.revokeClientTokens(id)]);
      } else if (demoted) await this.parts.auth.revokeIssuedTokens(id);
      else if (demotionRetried) await this.parts.auth.revokeIssuedTokens(id, before.updatedAt);
    } catch (error) {
      // Recorded after the revocation, not before, so the event says what was done: the change
      // stands (it is committed) but its revocation did not complete, and the caller gets the
      // error (503 when the denylist is unavailable). Recorded before the error propagates, or
      // the audit log would miss a change that is in force.
      await this.record(by, action, id, { fields, ...changed, revocation: 'failed' });
      throw error;
    }
    await this.record(by, action, id, {
      fields,
      ...changed,
      // Worded so the audit redactor (which hides values under token-like names) keeps it.
      ...((demoted || demotionRetried) && !deactivated ? { revoked: 'issued access' } : {}),
      ...(sessionsEnded > 0 ? { sessions_ended: sessionsEnded } : {}),
    });
    return user;
  }

  /**
   * Denies every token issued so far to the user's OAuth clients (a marker per client, keyed by
   * the client id, which is such a token's subject). While the owner is inactive their status
   * check refuses those tokens anyway; the marker keeps them refused after a reactivation.
   * Client tokens have no session to mark, so a deactivation's marker reaches as far ahead as
   * another instance's clock may run (`atMs`' default): a token it stamped "later" was still
   * issued before the deactivation. The price: after a reactivation within that much of the
   * deactivation, new client tokens are refused until then (docs/oauth.md).
   */
  private async revokeClientTokens(ownerId: string, atMs = this.parts.now() + this.parts.clockSkewMs): Promise<void> {
    const clientIds = (await this.parts.clientsOwnedBy?.()?.(ownerId)) ?? [];
    await Promise.all(clientIds.map((clientId) => this.parts.auth.revokeIssuedTokens(clientId, atMs)));
  }

  /**
   * Sets a new password (policy checked) and ends the user's other sessions and tokens. With
   * `replacing` (the hash the current password was verified against), a password changed since
   * that check stands: the change is refused as `invalid_credentials` and audited.
   */
  async changePassword(id: string, password: string, by: Actor, options: { replacing?: string } = {}): Promise<boolean> {
    const user = await this.parts.users.findById(id);
    if (user === undefined) return false;
    this.parts.passwords.assertAcceptable(password, { email: user.email });
    const stored = await this.parts.users.setPasswordHash(id, await this.parts.passwords.hash(password), options);
    if (!stored && options.replacing !== undefined) {
      // Verified against a password that another change has replaced: that change must stand,
      // or whoever knew the old password could undo the owner's change by racing it.
      await this.record(by, 'auth.password_change.failed', id, { reason: 'password_replaced' }, 'failure');
      throw new WardenError('invalid_credentials', 'The current password is wrong');
    }
    if (!stored) return false;
    try {
      await this.parts.auth.logoutAll(id, by, { reason: 'password_changed', actor: by.actor });
    } catch (error) {
      // The new password is in force: audited even though ending the sessions did not complete
      // (the caller gets 503 and ends them with logout-all; asking for the change again would
      // now fail on the current password).
      await this.record(by, 'user.password_changed', id, { revocation: 'failed' });
      throw error;
    }
    await this.record(by, 'user.password_changed', id);
    return true;
  }

  /**
   * Deletes a user; their tokens stop at once: a revocation marker denies them on every instance
   * even if an invalidation message is lost, and the status cache is dropped everywhere.
   */
  async delete(id: string, by: Actor, options: { guard?: WriteGuard } = {}): Promise<boolean> {
    const gone = await this.parts.users.deleteWithCredentials(id, options.guard);
    if (gone === undefined) return false;
    const credentials = credentialsDetails(gone);
    // Never throws; first, so this instance refuses the user's tokens whatever follows.
    await this.parts.userStatus.invalidate(id);
    try {
      await this.parts.auth.revokeIssuedTokens(id);
    } catch (error) {
      // The deletion is committed, so it is audited even though the marker could not be written
      // (the status check still refuses the tokens: here at once, elsewhere within the cache bounds).
      await this.record(by, 'user.deleted', id, { ...credentials, revocation: 'failed' });
      throw error;
    }
    await this.record(by, 'user.deleted', id, credentials);
    return true;
  }

  /** Records a refused change (outcome `denied`); `id` is absent for a refused creation. */
  recordDenied(by: Actor, action: 'user.created' | 'user.updated' | 'user.deactivated' | 'user.deleted', id: string | undefined, details: Record<string, unknown>): Promise<void> {
    return this.record(by, action, id, details, 'denied');
  }

  private record(
    by: Actor,
    action: 'user.created' | 'user.updated' | 'user.deactivated' | 'user.deleted' | 'user.password_changed' | 'auth.password_change.failed',
    id: string | undefined,
    details?: Record<string, unknown>,
    outcome: 'success' | 'denied' | 'failure' = 'success',
  ): Promise<void> {
    return this.parts.audit().record({
      action,
      actor: by.actor,
      entity_type: 'user',
      ...(id === undefined ? {} : { entity_id: id }),
      outcome,
      ...(by.ip === undefined ? {} : { ip: by.ip }),
      ...(by.userAgent === undefined ? {} : { user_agent: by.userAgent }),
      ...(by.requestId === undefined ? {} : { request_id: by.requestId }),
      ...(details === undefined ? {} : { details }),
    });
  }
}

/**
 * Runs every step even when an earlier one fails, then rethrows the first failure: each step
 * ends access by another route (sessions, client tokens), so one broken store must not spare
 * the others.
 */
async function runEach(steps: readonly (() => Promise<unknown>)[]): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length > 0) throw failures[0];
}

/** The user was found inactive under the write's lock, though active when the update began. */
class DeactivatedMeanwhile extends Error {
  constructor() {
    super('the user was deactivated while the update was prepared');
  }
}
