import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { deriveKey } from '../crypto/derive-key.js';
import { redactUserAgent } from '../redact/index.js';
import type { DatabaseSchema } from '../storage/index.js';

/** Refresh tokens carry this prefix so log scanners and the redactor recognise them. */
export const REFRESH_TOKEN_PREFIX = 'wrt_';

/** A session as the caller may see it. */
export interface SessionInfo {
  readonly id: string;
  readonly createdAt: number;
  readonly lastUsedAt: number;
  readonly expiresAt: number;
  readonly ip: string | null;
  readonly userAgent: string | null;
}

/** Where a request came from (stored on the session, shown in the session list). */
export interface ClientInfo {
  readonly ip: string | undefined;
  readonly userAgent: string | undefined;
}

/**
 * The outcome of a refresh: a new token, or why not (reuse = the family was just revoked).
 * A refusal says why (for the audit log, never for the client, which always sees
 * `refresh_token_invalid`) and, when the token is known, whose session it belongs to.
 */
export type RotationResult =
  | { readonly ok: true; readonly refreshToken: string; readonly sessionId: string; readonly userId: string }
  | { readonly ok: false; readonly code: 'refresh_token_invalid'; readonly reason: 'unknown_token' }
  | {
      readonly ok: false;
      readonly code: 'refresh_token_invalid';
      /** `already_used`: a duplicate within the reuse leeway (a concurrent refresh that lost the race included). */
      readonly reason: 'expired' | 'session_revoked' | 'already_used';
      readonly sessionId: string;
      readonly userId: string;
    }
  | {
      readonly ok: false;
      readonly code: 'refresh_token_reused';
      readonly sessionId: string;
      readonly userId: string;
      /** The token was claimed by a refresh running at the same time as this one (it lost the race). */
      readonly concurrent: boolean;
      /**
       * The session was already ended for reuse before this attempt (a retry after the marker
       * or the audit failed, or the thief trying again), within `reuseRepeatWindowMs`.
       */
      readonly repeat?: true;
    };

/**
 * Refresh-token families. A token is 256 random bits, stored only as HMAC-SHA256 under a key
 * derived from the root secret (a leaked table cannot be replayed). Each refresh marks the
 * presented token used with a conditional UPDATE (`used_at IS NULL`), so of two concurrent
 * refreshes exactly one wins; presenting a token that was already used revokes the family
 * (unless it comes within `reuseLeewayMs` of the first use). Losing that race is such a
 * presentation too, so both databases answer alike whether they ran the two refreshes one
 * after the other (the second sees a used token) or side by side (the second loses the UPDATE).
 */
export class SessionStore {
  private readonly hashKey: Buffer;

  constructor(
    private readonly db: Kysely<DatabaseSchema>,
    rootSecret: string,
    private readonly options: {
      readonly ttlMs: number;
      readonly now: () => number;
      /**
       * A token presented again within this many ms of its first use is refused without revoking
       * the family (a client's own duplicate request, e.g. two tabs). 0 = every reuse is theft.
       * @default 0
       */
      readonly reuseLeewayMs?: number;
      /**
       * For this long after a session was ended for reuse, a used token of it presented again
       * is reuse still (`repeat`), so the caller writes the family's marker again: the access
       * token lifetime, while a marker still matters. Later it is an ended session. @default 0
       */
      readonly reuseRepeatWindowMs?: number;
    },
  ) {
    this.hashKey = deriveKey(rootSecret, 'refresh-token-hash:v1');
  }

  /** Starts a session and returns its first refresh token. */
  async create(userId: string, client: ClientInfo): Promise<{ sessionId: string; refreshToken: string }> {
    const now = this.options.now();
    const sessionId = randomUUID();
    const refreshToken = this.newToken();
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('auth_sessions')
        .values({
          id: sessionId,
          user_id: userId,
          created_at: now,
          last_used_at: now,
          expires_at: now + this.options.ttlMs,
          revoked_at: null,
          revoked_reason: null,
          ip: client.ip?.slice(0, 64) ?? null,
          user_agent: storedUserAgent(client.userAgent),
        })
        .execute();
      await trx
        .insertInto('refresh_tokens')
        .values({ token_hash: this.hash(refreshToken), session_id: sessionId, user_id: userId, created_at: now, expires_at: now + this.options.ttlMs, used_at: null })
        .execute();
    });
    return { sessionId, refreshToken };
  }

  /** Exchanges a refresh token for a new one in the same family (see the class comment for reuse and races). */
  async rotate(refreshToken: string, client: ClientInfo): Promise<RotationResult> {
    if (!refreshToken.startsWith(REFRESH_TOKEN_PREFIX) || refreshToken.length > 128) return { ok: false, code: 'refresh_token_invalid', reason: 'unknown_token' };
    const now = this.options.now();
    const tokenHash = this.hash(refreshToken);
    const row = await this.db
      .selectFrom('refresh_tokens')
      .innerJoin('auth_sessions', 'auth_sessions.id', 'refresh_tokens.session_id')
      .select(['refresh_tokens.session_id', 'refresh_tokens.user_id', 'refresh_tokens.used_at', 'refresh_tokens.expires_at', 'auth_sessions.revoked_at', 'auth_sessions.revoked_reason'])
      .where('refresh_tokens.token_hash', '=', tokenHash)
      .executeTakeFirst();
    if (row === undefined) return { ok: false, code: 'refresh_token_invalid', reason: 'unknown_token' };
    const owner = { sessionId: row.session_id, userId: row.user_id };
    if (row.revoked_at !== null) {
      // A used token again, on a session ended for its reuse: reuse still. The caller re-asserts
      // the family's marker, which the first attempt may have failed to write, as a logout's
      // retry does; refused as an ended session, the retry would never deny the thief's tokens.
      const repeatable = now - Number(row.revoked_at) <= (this.options.reuseRepeatWindowMs ?? 0);
      if (row.revoked_reason === 'reuse_detected' && repeatable && row.used_at !== null && !this.withinLeeway(now - Number(row.used_at))) {
        return { ok: false, code: 'refresh_token_reused', ...owner, concurrent: false, repeat: true };
      }
      return { ok: false, code: 'refresh_token_invalid', reason: 'session_revoked', ...owner };
    }
    if (Number(row.expires_at) <= now) return { ok: false, code: 'refresh_token_invalid', reason: 'expired', ...owner };
    if (row.used_at !== null) {
      if (this.withinLeeway(now - Number(row.used_at))) return { ok: false, code: 'refresh_token_invalid', reason: 'already_used', ...owner };
      await this.revokeSession(row.session_id, 'reuse_detected');
      return { ok: false, code: 'refresh_token_reused', ...owner, concurrent: false };
    }
    const next = this.newToken();
    let outcome: 'won' | 'lost' | 'revoked';
    try {
      outcome = await this.db.transaction().execute(async (trx) => {
        // The session first, and only while it is still active: a logout-all or password change
        // that commits between the read above and here must not be outrun by a new token. Its
        // row lock also orders this against such a revocation (on PostgreSQL; SQLite has one writer).
        const touched = await trx
          .updateTable('auth_sessions')
          .set({ last_used_at: now, ip: client.ip?.slice(0, 64) ?? null, user_agent: storedUserAgent(client.userAgent) })
          .where('id', '=', row.session_id)
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
        if (touched.numUpdatedRows !== 1n) return 'revoked';
        const claimed = await trx
          .updateTable('refresh_tokens')
          .set({ used_at: now })
          .where('token_hash', '=', tokenHash)
          .where('used_at', 'is', null)
          .executeTakeFirst();
        // Lost a race with a concurrent refresh of the same token: that one wins, this one is
        // refused, and its address does not overwrite the winner's.
        if (claimed.numUpdatedRows !== 1n) throw new LostRotationRace();
        await trx
          .insertInto('refresh_tokens')
          .values({ token_hash: this.hash(next), session_id: row.session_id, user_id: row.user_id, created_at: now, expires_at: Number(row.expires_at), used_at: null })
          .execute();
        return 'won';
      });
    } catch (error) {
      if (!(error instanceof LostRotationRace)) throw error;
      outcome = 'lost';
    }
    if (outcome === 'revoked') return { ok: false, code: 'refresh_token_invalid', reason: 'session_revoked', ...owner };
    if (outcome === 'lost') {
      // The other refresh claimed the token after this one read it unused, i.e. while this
      // request ran: a duplicate within any leeway. Without a leeway it is reuse like any other,
      // or a thief who wins the race against the owner (or vice versa) would keep a live family.
      if (this.withinLeeway(0)) return { ok: false, code: 'refresh_token_invalid', reason: 'already_used', ...owner };
      await this.revokeSession(row.session_id, 'reuse_detected');
      return { ok: false, code: 'refresh_token_reused', ...owner, concurrent: true };
    }
    return { ok: true, refreshToken: next, sessionId: row.session_id, userId: row.user_id };
  }

  /**
   * Takes back a rotation whose new token never reached the client (the refresh failed after
   * it committed): the new token is deleted, if still unused, and the presented one is usable
   * again, so the client's retry is not taken for reuse. False when there was nothing to undo.
   */
  async undoRotation(presented: string, issued: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const deleted = await trx.deleteFrom('refresh_tokens').where('token_hash', '=', this.hash(issued)).where('used_at', 'is', null).executeTakeFirst();
      if (deleted.numDeletedRows !== 1n) return false;
      await trx.updateTable('refresh_tokens').set({ used_at: null }).where('token_hash', '=', this.hash(presented)).execute();
      return true;
    });
  }

  /**
   * Deletes what can no longer be used: refresh tokens past their expiry (used ones are kept
   * until then, to recognise reuse), then sessions expired more than `keepMs` ago (kept a while,
   * so that the session an audit event names can still be looked up).
   */
  async deleteExpired(nowMs: number, keepMs: number): Promise<{ tokens: number; sessions: number }> {
    const tokens = await this.db.deleteFrom('refresh_tokens').where('expires_at', '<=', nowMs).executeTakeFirst();
    const sessions = await this.db.deleteFrom('auth_sessions').where('expires_at', '<=', nowMs - keepMs).executeTakeFirst();
    return { tokens: Number(tokens.numDeletedRows), sessions: Number(sessions.numDeletedRows) };
  }

  /** The session a refresh token belongs to (for logout), if the token is known. */
  async sessionOf(refreshToken: string): Promise<{ sessionId: string; userId: string } | undefined> {
    if (!refreshToken.startsWith(REFRESH_TOKEN_PREFIX) || refreshToken.length > 128) return undefined;
    const row = await this.db
      .selectFrom('refresh_tokens')
      .select(['session_id', 'user_id'])
      .where('token_hash', '=', this.hash(refreshToken))
      .executeTakeFirst();
    return row === undefined ? undefined : { sessionId: row.session_id, userId: row.user_id };
  }

  /**
   * Read-only look at a refresh token (for RFC 7662 introspection): usable means not yet
   * rotated away, not expired, and its session neither revoked nor expired. Never rotates.
   */
  async inspect(refreshToken: string): Promise<{ sessionId: string; userId: string; expiresAt: number; usable: boolean } | undefined> {
    if (!refreshToken.startsWith(REFRESH_TOKEN_PREFIX) || refreshToken.length > 128) return undefined;
    const row = await this.db
      .selectFrom('refresh_tokens')
      .select(['session_id', 'user_id', 'expires_at', 'used_at'])
      .where('token_hash', '=', this.hash(refreshToken))
      .executeTakeFirst();
    if (row === undefined) return undefined;
    const expiresAt = Number(row.expires_at);
    const usable = row.used_at === null && expiresAt > this.options.now() && (await this.isActive(row.session_id));
    return { sessionId: row.session_id, userId: row.user_id, expiresAt, usable };
  }

  /** Revokes one session (all its refresh tokens). Returns false when it was not active. */
  async revokeSession(sessionId: string, reason: string, options: { userId?: string } = {}): Promise<boolean> {
    let query = this.db
      .updateTable('auth_sessions')
      .set({ revoked_at: this.options.now(), revoked_reason: reason })
      .where('id', '=', sessionId)
      .where('revoked_at', 'is', null);
    if (options.userId !== undefined) query = query.where('user_id', '=', options.userId);
    const result = await query.executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** Whether the session (the user's, when `userId` is given) was ended at or after `sinceMs`. */
  async endedSince(sessionId: string, sinceMs: number, options: { userId?: string } = {}): Promise<boolean> {
    let query = this.db.selectFrom('auth_sessions').select('id').where('id', '=', sessionId).where('revoked_at', '>=', sinceMs);
    if (options.userId !== undefined) query = query.where('user_id', '=', options.userId);
    return (await query.executeTakeFirst()) !== undefined;
  }

  /** Revokes every session of a user; returns those that were active, with when each last issued tokens. */
  async revokeAllForUser(userId: string, reason: string): Promise<{ id: string; lastUsedAt: number }[]> {
    const rows = await this.db
      .updateTable('auth_sessions')
      .set({ revoked_at: this.options.now(), revoked_reason: reason })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .returning(['id', 'last_used_at'])
      .execute();
    return rows.map((r) => ({ id: r.id, lastUsedAt: Number(r.last_used_at) }));
  }

  /** The user's active (not revoked, not expired) sessions, newest first. */
  async listActive(userId: string): Promise<SessionInfo[]> {
    const rows = await this.db
      .selectFrom('auth_sessions')
      .selectAll()
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', this.options.now())
      .orderBy('created_at', 'desc')
      .limit(100)
      .execute();
    return rows.map((r) => ({
      id: r.id,
      createdAt: Number(r.created_at),
      lastUsedAt: Number(r.last_used_at),
      expiresAt: Number(r.expires_at),
      ip: r.ip,
      userAgent: r.user_agent,
    }));
  }

  /** True when the session exists and is neither revoked nor expired. */
  async isActive(sessionId: string): Promise<boolean> {
    const row = await this.db.selectFrom('auth_sessions').select(['revoked_at', 'expires_at']).where('id', '=', sessionId).executeTakeFirst();
    return row !== undefined && row.revoked_at === null && Number(row.expires_at) > this.options.now();
  }

  /**
   * Whether a token used `sinceUseMs` ago may be refused quietly (a client's own duplicate).
   * Never with leeway 0, not even for a use stamped later than this instance's clock.
   */
  private withinLeeway(sinceUseMs: number): boolean {
    const leeway = this.options.reuseLeewayMs ?? 0;
    return leeway > 0 && sinceUseMs < leeway;
  }

  private newToken(): string {
    return REFRESH_TOKEN_PREFIX + randomBytes(32).toString('base64url');
  }

  private hash(token: string): string {
    return createHmac('sha256', this.hashKey).update(token).digest('base64url');
  }
}

/** Rolls a refresh back when a concurrent refresh of the same token claimed it first. */
class LostRotationRace extends Error {}

/** A client's User-Agent as a session keeps it: redacted (a token pasted there stays out of the table and of session lists), then clipped. */
function storedUserAgent(userAgent: string | undefined): string | null {
  return redactUserAgent(userAgent)?.slice(0, 512) ?? null;
}
