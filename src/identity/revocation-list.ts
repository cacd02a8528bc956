import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import type { DatabaseSchema } from '../storage/index.js';

/** What the verifier asks about a token that is otherwise valid. */
export interface RevocationQuery {
  readonly jti: string;
  /** The token's subject: a user id, or an OAuth client id for a client-credentials token. */
  readonly userId: string;
  /** When the token was issued, epoch ms. */
  readonly issuedAtMs: number;
  /** The token's session (sid claim), if any. */
  readonly sessionId?: string | undefined;
}

/**
 * The access-token denylist, keyed on jti (never on the raw token: a JWT's last base64url
 * character can change without breaking the signature). Entries live only as long as the
 * token could. `revokeUser` denies every token of a subject issued up to a moment (a user's at
 * logout-all, password change, deactivation; an OAuth client's when its owner is deactivated).
 */
export interface RevocationList {
  revokeToken(jti: string, expiresAtMs: number): Promise<void>;
  revokeUser(userId: string, options: { readonly atMs: number; readonly untilMs: number }): Promise<void>;
  /** Denies every access token of one session (logout, a revoked session, refresh-token theft). */
  revokeSession(sessionId: string, untilMs: number): Promise<void>;
  isRevoked(query: RevocationQuery): Promise<boolean>;
  /** Drops expired entries (memory backend); no-op for Redis (keys carry a TTL). */
  sweep(nowMs: number): Promise<void>;
}

// Revoked when issued at or before the marker (ties count as revoked: fail closed).
const issuedUpTo = (issuedAtMs: number, notBeforeMs: number): boolean => issuedAtMs <= notBeforeMs;

/**
 * Single-instance denylist: a Map in memory, written through to the `revoked_tokens` table so a
 * restart keeps logged-out tokens dead. Call `load()` once at start.
 */
export class DatabaseBackedRevocationList implements RevocationList {
  private readonly tokens = new Map<string, number>();
  private readonly users = new Map<string, { notBefore: number; expiresAt: number }>();

  constructor(
    private readonly db: Kysely<DatabaseSchema>,
    private readonly now: () => number,
  ) {}

  /** Reads the unexpired entries from the database. */
  async load(): Promise<void> {
    const rows = await this.db.selectFrom('revoked_tokens').selectAll().where('expires_at', '>', this.now()).execute();
    for (const row of rows) {
      if (row.subject.startsWith('jti:') || row.subject.startsWith('session:')) this.tokens.set(row.subject, Number(row.expires_at));
      else if (row.subject.startsWith('user:') && row.not_before !== null) {
        this.users.set(row.subject.slice(5), { notBefore: Number(row.not_before), expiresAt: Number(row.expires_at) });
      }
    }
  }

  async revokeToken(jti: string, expiresAtMs: number): Promise<void> {
    this.tokens.set(`jti:${jti}`, expiresAtMs);
    await this.db
      .insertInto('revoked_tokens')
      .values({ subject: `jti:${jti}`, not_before: null, expires_at: expiresAtMs })
      .onConflict((oc) => oc.column('subject').doNothing())
      .execute();
  }

  async revokeSession(sessionId: string, untilMs: number): Promise<void> {
    this.tokens.set(`session:${sessionId}`, untilMs);
    await this.db
      .insertInto('revoked_tokens')
      .values({ subject: `session:${sessionId}`, not_before: null, expires_at: untilMs })
      .onConflict((oc) => oc.column('subject').doNothing())
      .execute();
  }

  async revokeUser(userId: string, options: { atMs: number; untilMs: number }): Promise<void> {
    this.users.set(userId, { notBefore: options.atMs, expiresAt: options.untilMs });
    await this.db
      .insertInto('revoked_tokens')
      .values({ subject: `user:${userId}`, not_before: options.atMs, expires_at: options.untilMs })
      .onConflict((oc) => oc.column('subject').doUpdateSet({ not_before: options.atMs, expires_at: options.untilMs }))
      .execute();
  }

  async isRevoked(query: RevocationQuery): Promise<boolean> {
    const now = this.now();
    const tokenExpiry = this.tokens.get(`jti:${query.jti}`);
    if (tokenExpiry !== undefined && tokenExpiry > now) return true;
    if (query.sessionId !== undefined) {
      const sessionExpiry = this.tokens.get(`session:${query.sessionId}`);
      if (sessionExpiry !== undefined && sessionExpiry > now) return true;
    }
    const user = this.users.get(query.userId);
    return user !== undefined && user.expiresAt > now && issuedUpTo(query.issuedAtMs, user.notBefore);
  }

  async sweep(nowMs: number): Promise<void> {
    for (const [jti, expiresAt] of this.tokens) if (expiresAt <= nowMs) this.tokens.delete(jti);
    for (const [id, entry] of this.users) if (entry.expiresAt <= nowMs) this.users.delete(id);
    await this.db.deleteFrom('revoked_tokens').where('expires_at', '<=', nowMs).execute();
  }
}

/**
 * Multi-instance denylist in Redis: every check reads Redis (one MGET, auto-pipelined), so a
 * revocation on one instance holds on all of them at once. Keys expire with the token.
 */
export class RedisRevocationList implements RevocationList {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly now: () => number,
  ) {}

  async revokeToken(jti: string, expiresAtMs: number): Promise<void> {
    const ttl = Math.ceil(expiresAtMs - this.now());
    if (ttl <= 0) return;
    await this.redis.set(`${this.prefix}revoked:jti:${jti}`, '1', 'PX', ttl);
  }

  async revokeUser(userId: string, options: { atMs: number; untilMs: number }): Promise<void> {
    const ttl = Math.ceil(options.untilMs - this.now());
    if (ttl <= 0) return;
    await this.redis.set(`${this.prefix}revoked:user:${userId}`, String(options.atMs), 'PX', ttl);
  }

  async revokeSession(sessionId: string, untilMs: number): Promise<void> {
    const ttl = Math.ceil(untilMs - this.now());
    if (ttl <= 0) return;
    await this.redis.set(`${this.prefix}revoked:session:${sessionId}`, '1', 'PX', ttl);
  }

  async isRevoked(query: RevocationQuery): Promise<boolean> {
    const [token, user, session] = await this.redis.mget(
      `${this.prefix}revoked:jti:${query.jti}`,
      `${this.prefix}revoked:user:${query.userId}`,
      // A key that never exists when the token has no session.
      `${this.prefix}revoked:session:${query.sessionId ?? '-'}`,
    );
    if ((token !== null && token !== undefined) || (session !== null && session !== undefined && query.sessionId !== undefined)) return true;
    return user !== null && user !== undefined && issuedUpTo(query.issuedAtMs, Number(user));
  }

  async sweep(): Promise<void> {}
}
