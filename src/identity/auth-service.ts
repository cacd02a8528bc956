import type { AuditEventInput, AuditRecorder } from '../audit/audit-event.js';
import { WardenError } from '../errors/index.js';
import { isForeignKeyViolation } from '../storage/constraint-violation.js';
import type { AccessTokenIssuer } from './access-token-issuer.js';
import type { LoginThrottle } from './login-throttle.js';
import type { HashingSlot, PasswordService } from './password-service.js';
import type { RevocationList } from './revocation-list.js';
import type { ClientInfo, SessionStore } from './session-store.js';
import type { UserStatusCache } from './user-status-cache.js';
import { canonicalEmail, type UserStore } from './user-store.js';

/** The wire shape of a token pair (DESIGN.md). */
export interface TokenPair {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly refresh_token: string;
}

/** Request facts that go into sessions and audit events. */
export interface RequestFacts extends ClientInfo {
  readonly requestId?: string | undefined;
}

export type LoginResult =
  | { readonly ok: true; readonly userId: string; readonly tokens: TokenPair }
  | { readonly ok: false; readonly code: 'invalid_credentials' }
  | { readonly ok: false; readonly code: 'account_locked'; readonly retryAfterMs: number };

/** Whether the caller's current password is right (the password-change check), throttled like a login. */
export type PasswordCheckResult =
  /** `verifiedHash`: the stored hash the password matched; `changePassword` writes only over it, so a change committed meanwhile stands. */
  | { readonly ok: true; readonly verifiedHash: string }
  | { readonly ok: false; readonly code: 'invalid_credentials' }
  | { readonly ok: false; readonly code: 'account_locked'; readonly retryAfterMs: number };

export type RefreshResult =
  | { readonly ok: true; readonly tokens: TokenPair }
  | { readonly ok: false; readonly code: 'refresh_token_invalid' | 'refresh_token_reused' };

export interface AuthServiceParts {
  readonly users: UserStore;
  readonly passwords: PasswordService;
  readonly sessions: SessionStore;
  readonly issuer: AccessTokenIssuer;
  readonly revocations: RevocationList;
  readonly userStatus: UserStatusCache;
  readonly throttle: LoginThrottle;
  readonly audit: () => AuditRecorder;
  /** Longest time an access token can stay valid (ttl + skew), for logout-all's denylist entry. */
  readonly accessTokenLifetimeMs: number;
  readonly now: () => number;
}

/** Login, refresh, logout: the flows behind /v1/auth, each writing its audit event before it answers. */
export class AuthService {
  constructor(private readonly parts: AuthServiceParts) {}

  /**
   * Unknown email, wrong password and inactive user all return `invalid_credentials` after the
   * same work: one throttle check, one password verification (against a dummy hash when the
   * user does not exist), one failure count, one audit write. So does a login whose user
   * changed password, was deactivated or deleted while the password was being verified.
   *
   * The attempt is counted against the account only once it holds a hashing slot, and the
   * slot is kept through the verification and any re-hash: an attempt the hashing queue turns
   * away (503 `overloaded`) never had its password checked and costs nothing, and one that
   * was counted is never turned away before its check.
   */
  async login(input: { email: string; password: string }, facts: RequestFacts): Promise<LoginResult> {
    const { users, passwords, throttle } = this.parts;
    // The same canonical form as at creation, or a user created as 'Ｊo@x' could not log in as 'jo@x'.
    const email = canonicalEmail(input.email);
    const accountKey = users.emailLookup(email);
    // Refused before any password was checked, so counted nowhere; the user was not looked up.
    const refused = (reason: 'throttled' | 'overloaded') =>
      this.record(facts, { action: 'auth.login.failed', actor: `email:${accountKey}`, outcome: 'denied', details: { reason } });
    const locked = async (retryAfterMs: number): Promise<LoginResult> => {
      await refused('throttled');
      return { ok: false, code: 'account_locked', retryAfterMs };
    };
    // A locked account or address is refused before it queues for a hashing slot, as it was
    // before the slot came first: a flood against it must not fill the queue.
    const early = await throttle.check(accountKey, facts.ip);
    if (!early.allowed) return locked(early.retryAfterMs);
    const attempt = await this.inHashingSlot(
      async (slot) => {
        // Counted here, not before the slot: the atomic count per tier still comes before any
        // password is checked, so concurrent guesses stay held to the tiers.
        const gate = await throttle.reserve(accountKey, facts.ip);
        if (!gate.allowed) return { counted: false as const, retryAfterMs: gate.retryAfterMs };
        const user = await users.findForLogin(email);
        if (user === undefined) {
          await passwords.verifyDummy(input.password, slot);
          return { counted: true as const, user, matches: false, newHash: undefined };
        }
        const verdict = await passwords.verify(user.passwordHash, input.password, slot);
        // In the same slot: a re-hash queued anew could be turned away after the right password
        // was checked and counted, and a user retrying it would lock the account.
        const newHash = verdict.matches && verdict.rehash && user.isActive ? await passwords.hash(input.password, slot) : undefined;
        return { counted: true as const, user, matches: verdict.matches, newHash };
      },
      () => refused('overloaded'),
    );
    if (!attempt.counted) return locked(attempt.retryAfterMs);
    const { user, matches: passwordMatches, newHash } = attempt;
    if (user === undefined || !passwordMatches || !user.isActive) {
      const reason = user === undefined ? 'unknown_user' : !passwordMatches ? 'wrong_password' : 'inactive_user';
      return this.loginFailed(facts, accountKey, user?.id, reason);
    }
    // Legacy (bcrypt/PBKDF2/scrypt), weaker argon2 or unnormalised hashes are replaced now that
    // we know the password, but only if the stored hash is still the one verified (see rehashPassword).
    if (newHash !== undefined) await users.rehashPassword(user.id, user.passwordHash, newHash);
    let session: Awaited<ReturnType<SessionStore['create']>>;
    try {
      session = await this.parts.sessions.create(user.id, facts);
    } catch (error) {
      // Deleted while its password was checked: the session's foreign key refuses it.
      if (isForeignKeyViolation(error)) return this.loginFailed(facts, accountKey, user.id, 'unknown_user');
      throw error;
    }
    let tokens = await this.pair(user.id, session.sessionId, session.refreshToken, user.isAdmin);
    // The verification took a while (argon2), and the user row was read before it. A password
    // change, deactivation or demotion that committed since then may already have revoked the
    // user's sessions and tokens, and would not cover these. Read again, after the session and
    // the token exist: whatever this read does not see commits later, so its revocation (which
    // runs after that commit) ends this session and denies this token.
    const current = await users.credentialState(user.id);
    if (current === undefined || !current.isActive || current.passwordChangedAt !== user.passwordChangedAt) {
      // The tokens never left this function; ending the session makes the refresh token worthless too.
      await this.parts.sessions.revokeSession(session.sessionId, 'credentials_changed');
      const reason = current === undefined ? 'unknown_user' : !current.isActive ? 'inactive_user' : 'password_changed';
      return this.loginFailed(facts, accountKey, user.id, reason);
    }
    // Demoted meanwhile: the demotion's marker may predate the token above, which must not carry the role.
    if (user.isAdmin && !current.isAdmin) tokens = await this.pair(user.id, session.sessionId, session.refreshToken, false);
    await throttle.recordSuccess(accountKey);
    await this.record(facts, { action: 'auth.login.succeeded', actor: user.id, entity_type: 'session', entity_id: session.sessionId, outcome: 'success' });
    return { ok: true, userId: user.id, tokens };
  }

  /**
   * Runs `work` in a hashing slot. When none frees up in time, `work` never ran (nothing was
   * counted or checked): `onOverloaded` audits that, and the 503 `overloaded` goes on to the
   * caller. An `overloaded` thrown from inside `work` is not that case and is passed on as is.
   */
  private async inHashingSlot<T>(work: (slot: HashingSlot) => Promise<T>, onOverloaded: () => Promise<void>): Promise<T> {
    let started = false;
    try {
      return await this.parts.passwords.withSlot((slot) => {
        started = true;
        return work(slot);
      });
    } catch (error) {
      if (!started && error instanceof WardenError && error.code === 'overloaded') await onOverloaded();
      throw error;
    }
  }

  /** A refused login: counted against the IP (the account tiers counted it at reserve) and audited with why. */
  private async loginFailed(facts: RequestFacts, accountKey: string, userId: string | undefined, reason: string): Promise<LoginResult> {
    await this.parts.throttle.recordFailure(facts.ip);
    await this.record(facts, {
      action: 'auth.login.failed',
      actor: userId ?? `email:${accountKey}`,
      outcome: 'failure',
      ...(userId === undefined ? {} : { entity_type: 'user', entity_id: userId }),
      details: { reason },
    });
    return { ok: false, code: 'invalid_credentials' };
  }

  /**
   * Checks a signed-in user's current password (before a password change). A wrong one counts
   * exactly like a failed login for the same account key and IP: otherwise whoever holds a
   * stolen access token could guess the password here at the plain HTTP rate limit and turn
   * minutes of access into lasting access. A locked account is refused before any password work.
   */
  async checkCurrentPassword(userId: string, password: string, facts: RequestFacts): Promise<PasswordCheckResult> {
    const { users, passwords, throttle } = this.parts;
    const user = await users.findById(userId);
    // The token guard refuses deleted users, so this is only a deletion racing the request.
    if (user === undefined) {
      await this.record(facts, { action: 'auth.password_change.failed', actor: userId, entity_type: 'user', entity_id: userId, outcome: 'failure', details: { reason: 'unknown_user' } });
      return { ok: false, code: 'invalid_credentials' };
    }
    const refused = (reason: 'throttled' | 'overloaded') =>
      this.record(facts, { action: 'auth.password_change.failed', actor: userId, entity_type: 'user', entity_id: userId, outcome: 'denied', details: { reason } });
    // The login's account key (blind index of the email), so both paths share one set of counters.
    const accountKey = users.emailLookup(user.email);
    // As at login: refused before queueing for a hashing slot when locked, and counted only
    // once the slot is held, so that a 503 `overloaded` costs the user nothing.
    const early = await throttle.check(accountKey, facts.ip);
    const checked = early.allowed
      ? await this.inHashingSlot(
          async (slot) => {
            const gate = await throttle.reserve(accountKey, facts.ip);
            if (!gate.allowed) return gate;
            const stored = await users.passwordHashOf(userId);
            const matches = stored !== undefined && (await passwords.verify(stored, password, slot)).matches;
            return { allowed: true as const, matches, stored };
          },
          () => refused('overloaded'),
        )
      : early;
    if (!checked.allowed) {
      await refused('throttled');
      return { ok: false, code: 'account_locked', retryAfterMs: checked.retryAfterMs };
    }
    if (!checked.matches || checked.stored === undefined) {
      await throttle.recordFailure(facts.ip);
      await this.record(facts, { action: 'auth.password_change.failed', actor: userId, entity_type: 'user', entity_id: userId, outcome: 'failure', details: { reason: 'wrong_password' } });
      return { ok: false, code: 'invalid_credentials' };
    }
    await throttle.recordSuccess(accountKey);
    return { ok: true, verifiedHash: checked.stored };
  }

  /**
   * Rotates a refresh token. Every refusal is audited: reuse revokes the family; an unknown,
   * expired, revoked or already-used token, or a deactivated user, is recorded as
   * `auth.token.refresh_failed` with the reason (the session id when known, never the token).
   */
  async refresh(refreshToken: string, facts: RequestFacts): Promise<RefreshResult> {
    const rotation = await this.parts.sessions.rotate(refreshToken, facts);
    if (!rotation.ok) {
      if (rotation.code === 'refresh_token_invalid') {
        // `denied`: the credential was genuine but its session was ended on purpose; `failure`: not a usable credential.
        await this.record(facts, {
          action: 'auth.token.refresh_failed',
          ...(rotation.reason === 'unknown_token'
            ? { actor: 'anonymous' }
            : { actor: rotation.userId, entity_type: 'session', entity_id: rotation.sessionId }),
          outcome: rotation.reason === 'session_revoked' ? 'denied' : 'failure',
          details: { reason: rotation.reason },
        });
      } else {
        // The family is revoked in the store; its access tokens die too (the thief may hold one).
        await this.parts.revocations.revokeSession(rotation.sessionId, this.parts.now() + this.parts.accessTokenLifetimeMs);
        await this.record(facts, {
          action: 'auth.refresh.reuse_detected',
          actor: rotation.userId,
          entity_type: 'session',
          entity_id: rotation.sessionId,
          outcome: 'denied',
          // `concurrent`: presented twice at once (the second lost the race); with leeway 0 that is
          // reuse too. `repeat`: the session was already ended for reuse (a retry, or the thief again).
          details: {
            family_revoked: true,
            ...(rotation.concurrent ? { concurrent: true } : {}),
            ...(rotation.repeat === true ? { repeat: true } : {}),
          },
        });
      }
      return { ok: false, code: rotation.code };
    }
    try {
      return await this.finishRefresh(rotation, facts);
    } catch (error) {
      // The rotation committed, but its new token will not reach the client: take it back, or
      // the client's retry of the same token would be taken for theft and end the session.
      await this.parts.sessions.undoRotation(refreshToken, rotation.refreshToken).catch(() => false);
      throw error;
    }
  }

  /** What a refresh does once its rotation committed: checks the user, issues the tokens, audits. */
  private async finishRefresh(rotation: { userId: string; sessionId: string; refreshToken: string }, facts: RequestFacts): Promise<RefreshResult> {
    const status = await this.parts.userStatus.get(rotation.userId);
    if (!status.exists || !status.isActive) return this.refreshRefused(rotation, facts, status.exists);
    let tokens = await this.pair(rotation.userId, rotation.sessionId, rotation.refreshToken, status.isAdmin);
    // As at login: the status above may come from a cache (another instance's change reaches it
    // within its bounds), and a deactivation or demotion that committed meanwhile may already
    // have written its revocation, which would not cover these tokens. Read the user again,
    // after the tokens exist: a change this read does not see commits later, and its revocation
    // (written after that commit) denies them.
    const current = await this.parts.users.credentialState(rotation.userId);
    if (current === undefined || !current.isActive) return this.refreshRefused(rotation, facts, current !== undefined);
    if (status.isAdmin && !current.isAdmin) tokens = await this.pair(rotation.userId, rotation.sessionId, rotation.refreshToken, false);
    await this.record(facts, { action: 'auth.token.refreshed', actor: rotation.userId, entity_type: 'session', entity_id: rotation.sessionId, outcome: 'success' });
    return { ok: true, tokens };
  }

  /** A refresh whose user is deactivated or deleted: the session ends, and the refusal is audited. */
  private async refreshRefused(rotation: { userId: string; sessionId: string }, facts: RequestFacts, userExists: boolean): Promise<RefreshResult> {
    const ended = (await this.endSession(rotation.sessionId, 'user_deactivated')) === 'ended';
    await this.record(facts, {
      action: 'auth.token.refresh_failed',
      actor: rotation.userId,
      entity_type: 'session',
      entity_id: rotation.sessionId,
      outcome: 'denied',
      details: { reason: userExists ? 'user_deactivated' : 'user_deleted', session_ended: ended },
    });
    return { ok: false, code: 'refresh_token_invalid' };
  }

  /** Revokes the presented access token (until its exp), its session, and the given refresh token's session if it is the caller's. */
  async logout(
    caller: { userId: string; jti: string; expiresAt: number; sessionId: string | undefined },
    refreshToken: string | undefined,
    facts: RequestFacts,
  ): Promise<void> {
    const { sessions, revocations } = this.parts;
    const revoked: string[] = [];
    if (caller.sessionId !== undefined && (await this.endSession(caller.sessionId, 'logout', { userId: caller.userId })) === 'ended') revoked.push(caller.sessionId);
    if (refreshToken !== undefined) {
      const owner = await sessions.sessionOf(refreshToken);
      const another = owner !== undefined && owner.userId === caller.userId && owner.sessionId !== caller.sessionId;
      if (another && (await this.endSession(owner.sessionId, 'logout')) === 'ended') revoked.push(owner.sessionId);
    }
    // Last: if a marker above failed (503), the presented token still works for the retry,
    // which then writes the marker the first attempt could not.
    await revocations.revokeToken(caller.jti, caller.expiresAt * 1000 + this.parts.accessTokenLifetimeMs);
    await this.record(facts, { action: 'auth.logout', actor: caller.userId, entity_type: 'user', entity_id: caller.userId, outcome: 'success', details: { sessions_revoked: revoked.length } });
  }

  /**
   * Ends one session: its refresh tokens stop, and so do the access tokens issued to it.
   * 'ended' when this call ended it; 'reasserted' when it had ended within one access-token
   * lifetime and its marker was written again (the retry of an end whose marker or audit write
   * failed, which callers record as a repeat); undefined when there is nothing to end (or it is
   * not the user's).
   */
  async endSession(sessionId: string, reason: string, options: { userId?: string } = {}): Promise<'ended' | 'reasserted' | undefined> {
    const { sessions, revocations, accessTokenLifetimeMs: lifetime } = this.parts;
    const now = this.parts.now();
    const ended = await sessions.revokeSession(sessionId, reason, options);
    // A retry of an end whose marker write failed (503) finds the session already ended. While
    // tokens issued to it can still be live, it writes the marker again: else they would work
    // until they expire, and asking again could not fix it.
    const reasserted = !ended && (await sessions.endedSince(sessionId, now - lifetime, options));
    if (ended || reasserted) await revocations.revokeSession(sessionId, now + lifetime);
    return ended ? 'ended' : reasserted ? 'reasserted' : undefined;
  }

  /** Ends every session of a user (their refresh tokens stop), without a marker or an audit event; returns how many. */
  async endSessionsOf(userId: string, reason: string): Promise<number> {
    return (await this.parts.sessions.revokeAllForUser(userId, reason)).length;
  }

  /** Ends every session of a user and denies every access token issued so far; `actor` = who asked (default: the user). */
  async logoutAll(userId: string, facts: RequestFacts, options: { reason?: string; actor?: string } = {}): Promise<number> {
    const now = this.parts.now();
    const reason = options.reason ?? 'logout_all';
    const ended = await this.parts.sessions.revokeAllForUser(userId, reason);
    const count = ended.length;
    await this.revokeIssuedTokens(userId, now);
    // The user marker compares this instance's clock with the token's iat from the issuing
    // instance; a marker per session denies those sessions' tokens whatever the clocks say.
    // Only sessions that issued a token lately can have live ones (a lifetime, plus as much
    // again for the clocks), so a user with years of idle sessions costs a few writes, not all.
    const lifetime = this.parts.accessTokenLifetimeMs;
    const recent = ended.filter((session) => session.lastUsedAt > now - 2 * lifetime);
    await Promise.all(recent.map((session) => this.parts.revocations.revokeSession(session.id, now + lifetime)));
    // The actor is whoever ended the sessions (an admin deactivating the user, not the user).
    await this.record(facts, {
      action: 'auth.logout',
      actor: options.actor ?? userId,
      entity_type: 'user',
      entity_id: userId,
      outcome: 'success',
      details: { all_sessions: true, sessions_revoked: count, reason },
    });
    return count;
  }

  /**
   * Denies every access token of the user issued up to `atMs`, on every instance (a revocation
   * marker, not the status cache, which another instance may hold for a while).
   */
  async revokeIssuedTokens(userId: string, atMs = this.parts.now()): Promise<void> {
    await this.parts.revocations.revokeUser(userId, { atMs, untilMs: atMs + this.parts.accessTokenLifetimeMs });
  }

  private async pair(userId: string, sessionId: string, refreshToken: string, isAdmin: boolean): Promise<TokenPair> {
    const access = await this.parts.issuer.issue({ userId, sessionId, roles: isAdmin ? ['admin'] : [] });
    return { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresIn, refresh_token: refreshToken };
  }

  private record(facts: RequestFacts, event: Omit<AuditEventInput, 'ip' | 'user_agent' | 'request_id'>): Promise<void> {
    return this.parts.audit().record({
      ...event,
      ...(facts.ip === undefined ? {} : { ip: facts.ip }),
      ...(facts.userAgent === undefined ? {} : { user_agent: facts.userAgent }),
      ...(facts.requestId === undefined ? {} : { request_id: facts.requestId }),
    });
  }
}
