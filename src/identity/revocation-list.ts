import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { WardenError } from '../errors/index.js';
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
 * logout-all, password change, deactivation; an OAuth client's when its owner is deactivated);
 * a subject's marker only ever rises (and lives at least as long as before), so a write with an
 * earlier moment (another instance's slower clock, two revocations finishing out of order)
 * cannot un-revoke tokens.
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
    const known = this.users.get(userId);
    this.users.set(userId, { notBefore: Math.max(known?.notBefore ?? options.atMs, options.atMs), expiresAt: Math.max(known?.expiresAt ?? options.untilMs, options.untilMs) });
    // Each column keeps the larger of the stored and the new value (CASE rather than
    // GREATEST/MAX, which SQLite and PostgreSQL spell differently).
    await this.db
      .insertInto('revoked_tokens')
      .values({ subject: `user:${userId}`, not_before: options.atMs, expires_at: options.untilMs })
      .onConflict((oc) =>
        oc.column('subject').doUpdateSet((eb) => ({
          not_before: eb
            .case()
            .when(eb.or([eb('revoked_tokens.not_before', 'is', null), eb('revoked_tokens.not_before', '<', eb.ref('excluded.not_before'))]))
            .then(eb.ref('excluded.not_before'))
            .else(eb.ref('revoked_tokens.not_before'))
            .end(),
          expires_at: eb
            .case()
            .when('revoked_tokens.expires_at', '<', eb.ref('excluded.expires_at'))
            .then(eb.ref('excluded.expires_at'))
            .else(eb.ref('revoked_tokens.expires_at'))
            .end(),
        })),
      )
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
 * Keeps the larger "issued up to" marker: KEYS[1] the marker, ARGV[1] the new moment (ms),
 * ARGV[2] its TTL (ms). The TTL never shrinks either. Returns 1 when the value was raised.
 */
const RAISE_MARKER_LUA = `
local current = tonumber(redis.call('GET', KEYS[1]))
local ttl = tonumber(ARGV[2])
local remaining = redis.call('PTTL', KEYS[1])
if remaining > ttl then ttl = remaining end
if current ~= nil and current >= tonumber(ARGV[1]) then
  redis.call('PEXPIRE', KEYS[1], ttl)
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
return 1
`;

const RAISE_MARKER = 'wardenRaiseRevocationMarker';

type RedisWithRaiseMarker = Redis & {
  [RAISE_MARKER](key: string, atMs: string, ttlMs: string): Promise<number>;
};

/** How long a caller is asked to wait when Redis cannot answer (as the rate limiter's 503 does). */
const REDIS_RETRY_AFTER_SECONDS = '1';

/**
 * Multi-instance denylist in Redis: every check reads Redis (one MGET, auto-pipelined), so a
 * revocation on one instance holds on all of them at once. Keys expire with the token. When
 * Redis cannot answer, a check fails closed with 503 `service_unavailable` and `Retry-After`,
 * as Warden answers for every unavailable dependency (not an unexpected 500).
 */
export class RedisRevocationList implements RevocationList {
  private readonly client: RedisWithRaiseMarker;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly now: () => number,
  ) {
    if (!(RAISE_MARKER in redis)) redis.defineCommand(RAISE_MARKER, { numberOfKeys: 1, lua: RAISE_MARKER_LUA });
    this.client = redis as RedisWithRaiseMarker;
  }

  async revokeToken(jti: string, expiresAtMs: number): Promise<void> {
    const ttl = Math.ceil(expiresAtMs - this.now());
    if (ttl <= 0) return;
    await unavailableOnFailure(this.client.set(`${this.prefix}revoked:jti:${jti}`, '1', 'PX', ttl));
  }

  async revokeUser(userId: string, options: { atMs: number; untilMs: number }): Promise<void> {
    const ttl = Math.ceil(options.untilMs - this.now());
    if (ttl <= 0) return;
    await unavailableOnFailure(this.client[RAISE_MARKER](`${this.prefix}revoked:user:${userId}`, String(options.atMs), String(ttl)));
  }

  async revokeSession(sessionId: string, untilMs: number): Promise<void> {
    const ttl = Math.ceil(untilMs - this.now());
    if (ttl <= 0) return;
    await unavailableOnFailure(this.client.set(`${this.prefix}revoked:session:${sessionId}`, '1', 'PX', ttl));
  }

  async isRevoked(query: RevocationQuery): Promise<boolean> {
    const [token, user, session] = await unavailableOnFailure(
      this.client.mget(
        `${this.prefix}revoked:jti:${query.jti}`,
        `${this.prefix}revoked:user:${query.userId}`,
        // A key that never exists when the token has no session.
        `${this.prefix}revoked:session:${query.sessionId ?? '-'}`,
      ),
    );
    if ((token !== null && token !== undefined) || (session !== null && session !== undefined && query.sessionId !== undefined)) return true;
    return user !== null && user !== undefined && issuedUpTo(query.issuedAtMs, Number(user));
  }

  async sweep(): Promise<void> {}
}

/**
 * A Redis failure as 503 `service_unavailable` (the cause is kept for the log, never sent).
 * The connection's own errors are already logged by whoever created the client.
 */
async function unavailableOnFailure<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    throw new WardenError('service_unavailable', 'The token denylist is temporarily unavailable; retry later', {
      cause: error,
      headers: { 'retry-after': REDIS_RETRY_AFTER_SECONDS },
    });
  }
}
