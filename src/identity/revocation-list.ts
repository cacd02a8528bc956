import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { WardenError } from '../errors/index.js';
import type { DatabaseSchema } from '../storage/index.js';
import { RevocationRows } from './revocation-rows.js';

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
  /** Drops expired entries (memory, and the database rows behind either backend). */
  sweep(nowMs: number): Promise<void>;
  /** Stops background work (the Redis backend's watch of the database). */
  close?(): void;
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
  private readonly rows: RevocationRows;

  constructor(
    db: Kysely<DatabaseSchema>,
    private readonly now: () => number,
  ) {
    this.rows = new RevocationRows(db);
  }

  /** Reads the unexpired entries from the database. */
  async load(): Promise<void> {
    for (const row of await this.rows.unexpired(this.now())) {
      if (row.kind === 'user') this.users.set(row.id, { notBefore: row.notBeforeMs, expiresAt: row.expiresAtMs });
      else this.tokens.set(`${row.kind}:${row.id}`, row.expiresAtMs);
    }
  }

  async revokeToken(jti: string, expiresAtMs: number): Promise<void> {
    this.tokens.set(`jti:${jti}`, expiresAtMs);
    await this.rows.add('jti', jti, expiresAtMs);
  }

  async revokeSession(sessionId: string, untilMs: number): Promise<void> {
    this.tokens.set(`session:${sessionId}`, untilMs);
    await this.rows.add('session', sessionId, untilMs);
  }

  async revokeUser(userId: string, options: { atMs: number; untilMs: number }): Promise<void> {
    const known = this.users.get(userId);
    this.users.set(userId, { notBefore: Math.max(known?.notBefore ?? options.atMs, options.atMs), expiresAt: Math.max(known?.expiresAt ?? options.untilMs, options.untilMs) });
    await this.rows.raiseUser(userId, options);
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
    await this.rows.deleteExpired(nowMs);
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

/**
 * Lua that moves Redis's copy of the revocation count (the key `sequenceKey`) on from `current`
 * over every number that has already arrived (the sorted set `arrivedKey`), then stores it. The
 * copy only counts revocations Redis has, with none missing below: a revocation whose write
 * missed Redis (or that a restored snapshot lost) holds it back, so a later one cannot hide the gap.
 */
const ABSORB_ARRIVED_LUA = `
while redis.call('ZSCORE', arrivedKey, string.format('%d', current + 1)) do current = current + 1 end
redis.call('ZREMRANGEBYSCORE', arrivedKey, '-inf', current)
redis.call('SET', sequenceKey, string.format('%d', current))
`;

/**
 * A revocation numbered ARGV[1] is in Redis: KEYS[1] the count, KEYS[2] the numbers arrived
 * ahead of it. The count moves on only when this is the next number; one ahead of a gap waits
 * (for an hour at most: by then a fill has closed the gap). Returns the count.
 */
const ADVANCE_SEQUENCE_LUA = `
local sequenceKey, arrivedKey = KEYS[1], KEYS[2]
local current = tonumber(redis.call('GET', sequenceKey)) or 0
local n = tonumber(ARGV[1])
if n <= current then return current end
if n > current + 1 then
  redis.call('ZADD', arrivedKey, n, ARGV[1])
  redis.call('PEXPIRE', arrivedKey, 3600000)
  return current
end
current = n
${ABSORB_ARRIVED_LUA}
return current
`;

const ADVANCE_SEQUENCE = 'wardenAdvanceRevocationSequence';

/**
 * Marks Redis as filled from the database, but only if it is still the Redis the fill wrote
 * to: KEYS[1] the canary the fill read at its start, KEYS[2] the `loaded` key, KEYS[3] the
 * count, KEYS[4] the numbers arrived ahead of it, KEYS[5] the mark the fill set after its last
 * row; ARGV[1] the canary's value, ARGV[2] the count the fill read before the rows.
 * - A flush (or a restart without persistence) during the fill takes the canary with it.
 * - A snapshot restored, or a replica promoted, that predates the fill's last row lacks the
 *   mark (one connection writes rows and mark in order, and Redis snapshots and replicates in
 *   that order), though it may hold the canary, which outlives fills.
 * Either way the fill must begin again rather than vouch for keys that are gone.
 */
const COMPLETE_FILL_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('DEL', KEYS[5]) == 0 then return 0 end
redis.call('SET', KEYS[2], '1')
local sequenceKey, arrivedKey = KEYS[3], KEYS[4]
local current = tonumber(redis.call('GET', sequenceKey)) or 0
local filled = tonumber(ARGV[2])
if current < filled then current = filled end
${ABSORB_ARRIVED_LUA}
return 1
`;

const COMPLETE_FILL = 'wardenCompleteRevocationFill';

/** Ends the fill lease KEYS[1] if this instance (ARGV[1]) still holds it, not one taken since. */
const RELEASE_LEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

const RELEASE_LEASE = 'wardenReleaseRevocationFillLease';

type RedisWithScripts = Redis & {
  [RAISE_MARKER](key: string, atMs: string, ttlMs: string): Promise<number>;
  [COMPLETE_FILL](canaryKey: string, loadedKey: string, sequenceKey: string, arrivedKey: string, markKey: string, canary: string, sequence: string): Promise<number>;
  [ADVANCE_SEQUENCE](sequenceKey: string, arrivedKey: string, sequence: string): Promise<number>;
  [RELEASE_LEASE](leaseKey: string, holder: string): Promise<number>;
};

/** How long a caller is asked to wait when Redis cannot answer (as the rate limiter's 503 does). */
const REDIS_RETRY_AFTER_SECONDS = '1';

/** How often each instance compares the revocation sequence in the database with Redis's copy. */
const WATCH_INTERVAL_MS = 1000;
/**
 * How long one instance may hold the right to refill Redis for everyone after a lag was seen.
 * Short, because an instance that dies or freezes while holding it leaves Redis lacking
 * revocations until it ends (a fill that outlasts it only lets a second fill start).
 */
const FILL_LEASE_MS = 3000;
/** How long the mark a fill sets after its last row waits for the fill to complete. */
const FILL_MARK_TTL_MS = 60_000;
/** After a failed fill, checks fail closed at once for this long instead of each reading the table. */
const FILL_BACKOFF_MS = 1000;
/** Fills that find Redis emptied under them before giving up (503) until the next check. */
const FILL_ATTEMPTS = 3;
/** Rows written to Redis per batch when it is filled from the database. */
const FILL_BATCH = 500;

export interface RedisRevocationListOptions {
  /** Told when Redis missed a revocation (it stands in the database and reaches Redis later). */
  readonly onRedisError?: (error: unknown) => void;
  /** Told when the sequences could not be compared (the database or Redis did not answer). */
  readonly onWatchError?: (error: unknown) => void;
}

/**
 * Multi-instance denylist: Redis answers every check (one MGET, auto-pipelined), so a
 * revocation on one instance holds on all of them at once; keys expire with the token.
 *
 * Redis is not the record, the database is: every revocation is written to `revoked_tokens`
 * first, and counted there (the revocation sequence, of which Redis keeps a copy). Redis is
 * refilled from the table whenever it may lack something:
 * - **Redis forgot everything** (a restart without persistence, a flush): a `loaded` key, set
 *   when a fill completes, is then missing, and the next check on any instance fills Redis
 *   before it answers. A canary key read at the fill's start must still be there at its end,
 *   or the fill begins again: a flush during a fill must not be vouched for.
 * - **Redis lacks some** (a write that failed, a snapshot restored, a replica promoted): its
 *   copy of the sequence, which moves on only over consecutive revocations it holds (see
 *   ADVANCE_SEQUENCE_LUA), is then lower than the database's. Every instance compares the two
 *   each second, and one of them (holding a short lease in Redis) refills Redis. An instance
 *   whose own write failed also refills before its next check answers.
 * When Redis cannot answer, checks fail closed with 503 `service_unavailable` and `Retry-After`.
 */
export class RedisRevocationList implements RevocationList {
  private readonly client: RedisWithScripts;
  private readonly loadedKey: string;
  private readonly canaryKey: string;
  private readonly sequenceKey: string;
  private readonly arrivedKey: string;
  private readonly leaseKey: string;
  /** Names this instance as the holder of the fill lease. */
  private readonly instanceId = randomUUID();
  /** A write of this instance missed Redis: its next check fills Redis first. */
  private behind = false;
  private filling: Promise<void> | undefined;
  private lastFailedFill = Number.NEGATIVE_INFINITY;
  /** A comparison is running: a slow database must not stack one up per second. */
  private comparing = false;
  private lastWatchReport = Number.NEGATIVE_INFINITY;
  private readonly watch: NodeJS.Timeout;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly now: () => number,
    private readonly rows: RevocationRows,
    private readonly options: RedisRevocationListOptions = {},
  ) {
    if (!(RAISE_MARKER in redis)) redis.defineCommand(RAISE_MARKER, { numberOfKeys: 1, lua: RAISE_MARKER_LUA });
    if (!(COMPLETE_FILL in redis)) redis.defineCommand(COMPLETE_FILL, { numberOfKeys: 5, lua: COMPLETE_FILL_LUA });
    if (!(ADVANCE_SEQUENCE in redis)) redis.defineCommand(ADVANCE_SEQUENCE, { numberOfKeys: 2, lua: ADVANCE_SEQUENCE_LUA });
    if (!(RELEASE_LEASE in redis)) redis.defineCommand(RELEASE_LEASE, { numberOfKeys: 1, lua: RELEASE_LEASE_LUA });
    this.client = redis as RedisWithScripts;
    this.loadedKey = `${prefix}revoked:loaded`;
    this.canaryKey = `${prefix}revoked:canary`;
    this.sequenceKey = `${prefix}revoked:sequence`;
    this.arrivedKey = `${prefix}revoked:arrived`;
    this.leaseKey = `${prefix}revoked:fill-lease`;
    this.watch = setInterval(() => void this.compareSequences(), WATCH_INTERVAL_MS);
    this.watch.unref();
  }

  async revokeToken(jti: string, expiresAtMs: number): Promise<void> {
    const sequence = await this.rows.counted(this.now(), (rows) => rows.add('jti', jti, expiresAtMs));
    await this.mirror(sequence, () => this.writeToken('jti', jti, expiresAtMs));
  }

  async revokeUser(userId: string, options: { atMs: number; untilMs: number }): Promise<void> {
    const sequence = await this.rows.counted(this.now(), (rows) => rows.raiseUser(userId, options));
    await this.mirror(sequence, () => this.writeUser(userId, options.atMs, options.untilMs));
  }

  async revokeSession(sessionId: string, untilMs: number): Promise<void> {
    const sequence = await this.rows.counted(this.now(), (rows) => rows.add('session', sessionId, untilMs));
    await this.mirror(sequence, () => this.writeToken('session', sessionId, untilMs));
  }

  async isRevoked(query: RevocationQuery): Promise<boolean> {
    if (this.behind || this.filling !== undefined) await this.fill();
    const answer = await this.ask(query);
    if (answer !== undefined) return answer;
    // Redis lost what it held (restart, flush): refill it, then ask once more. Missing again
    // right after a fill, something keeps emptying Redis: no answer can be trusted then.
    await this.fill();
    const again = await this.ask(query);
    if (again === undefined) throw unavailable(new Error('the revocation keys vanished from Redis right after it was filled'));
    return again;
  }

  async sweep(nowMs: number): Promise<void> {
    await this.rows.deleteExpired(nowMs);
  }

  close(): void {
    clearInterval(this.watch);
  }

  /** The check against Redis; undefined when Redis has not been filled from the database. */
  private async ask(query: RevocationQuery): Promise<boolean | undefined> {
    const [token, user, session, loaded] = await unavailableOnFailure(
      this.client.mget(
        `${this.prefix}revoked:jti:${query.jti}`,
        `${this.prefix}revoked:user:${query.userId}`,
        // A key that never exists when the token has no session.
        `${this.prefix}revoked:session:${query.sessionId ?? '-'}`,
        this.loadedKey,
      ),
    );
    if ((token !== null && token !== undefined) || (session !== null && session !== undefined && query.sessionId !== undefined)) return true;
    if (user !== null && user !== undefined && issuedUpTo(query.issuedAtMs, Number(user))) return true;
    return loaded === null || loaded === undefined ? undefined : false;
  }

  /**
   * Writes a counted revocation to Redis, then tells Redis its number. A failure does not fail
   * the revocation (the database has it, and checks fail closed while Redis is down): Redis's
   * count stays behind, which every instance notices within a second.
   */
  private async mirror(sequence: number, write: () => Promise<unknown>): Promise<void> {
    try {
      await write();
      await unavailableOnFailure(this.client[ADVANCE_SEQUENCE](this.sequenceKey, this.arrivedKey, String(sequence)));
    } catch (error) {
      this.behind = true;
      this.options.onRedisError?.(error);
    }
  }

  /**
   * Compares the database's revocation count with Redis's copy; runs each second on every
   * instance. When Redis's is lower, the instance that takes the lease refills Redis for all;
   * the others look again a second later.
   */
  private async compareSequences(): Promise<void> {
    if (this.comparing || this.filling !== undefined) return;
    this.comparing = true;
    try {
      const [recorded, copied] = await Promise.all([this.rows.sequence(), this.client.get(this.sequenceKey)]);
      // An instance whose own write or fill failed knows that Redis lacks something (the counts
      // say so too, unless Redis was filled since), and refills without waiting for a check.
      if (Number(copied ?? 0) >= recorded && !this.behind) return;
      if ((await this.client.set(this.leaseKey, this.instanceId, 'PX', FILL_LEASE_MS, 'NX')) !== 'OK') return;
      try {
        await this.fill();
      } finally {
        await this.client[RELEASE_LEASE](this.leaseKey, this.instanceId);
      }
    } catch (error) {
      // A failed fill already fails this instance's checks closed for a moment; this says why,
      // once per 10 s at most (an outage would otherwise log every second).
      const at = this.now();
      if (at - this.lastWatchReport >= 10_000) {
        this.lastWatchReport = at;
        this.options.onWatchError?.(error);
      }
    } finally {
      this.comparing = false;
    }
  }

  /**
   * Fills Redis from the database (one fill at a time); 503 while Redis cannot take it. After a
   * failed fill, checks fail closed at once for a second instead of each reading the table again.
   */
  private fill(): Promise<void> {
    if (this.filling === undefined && this.now() - this.lastFailedFill < FILL_BACKOFF_MS) {
      return Promise.reject(unavailable(new Error('Redis could not be filled with the revocations a moment ago')));
    }
    this.filling ??= this.copyRowsToRedis().finally(() => {
      this.filling = undefined;
    });
    return this.filling;
  }

  private async copyRowsToRedis(): Promise<void> {
    // Cleared first: a revocation that misses Redis while this runs sets it again.
    this.behind = false;
    try {
      for (let attempt = 1; attempt <= FILL_ATTEMPTS; attempt++) {
        // Redis is asked before the table is read, so a Redis that is down costs no database
        // read. Fills running at once on several instances share one canary.
        await unavailableOnFailure(this.client.set(this.canaryKey, randomUUID(), 'NX'));
        const canary = await unavailableOnFailure(this.client.get(this.canaryKey));
        if (canary === null) continue;
        // Counted before the rows are read: every revocation this count includes has its row.
        const sequence = await this.rows.sequence();
        const rows = await this.rows.unexpired(this.now());
        for (let i = 0; i < rows.length; i += FILL_BATCH) {
          await Promise.all(
            rows.slice(i, i + FILL_BATCH).map((row) => (row.kind === 'user' ? this.writeUser(row.id, row.notBeforeMs, row.expiresAtMs) : this.writeToken(row.kind, row.id, row.expiresAtMs))),
          );
        }
        // After the last row, on the same connection: a Redis that has this mark has the rows.
        const markKey = `${this.prefix}revoked:fill-mark:${randomUUID()}`;
        await unavailableOnFailure(this.client.set(markKey, '1', 'PX', FILL_MARK_TTL_MS));
        const completed = await unavailableOnFailure(this.client[COMPLETE_FILL](this.canaryKey, this.loadedKey, this.sequenceKey, this.arrivedKey, markKey, canary, String(sequence)));
        if (completed === 1) return;
      }
      throw unavailable(new Error('Redis lost what was written while it was being filled with the revocations (emptied, restored or failed over)'));
    } catch (error) {
      this.behind = true;
      this.lastFailedFill = this.now();
      throw error;
    }
  }

  private async writeToken(kind: 'jti' | 'session', id: string, expiresAtMs: number): Promise<void> {
    const ttl = Math.ceil(expiresAtMs - this.now());
    if (ttl <= 0) return;
    await unavailableOnFailure(this.client.set(`${this.prefix}revoked:${kind}:${id}`, '1', 'PX', ttl));
  }

  private async writeUser(userId: string, atMs: number, untilMs: number): Promise<void> {
    const ttl = Math.ceil(untilMs - this.now());
    if (ttl <= 0) return;
    await unavailableOnFailure(this.client[RAISE_MARKER](`${this.prefix}revoked:user:${userId}`, String(atMs), String(ttl)));
  }
}

/** Redis cannot answer: 503 `service_unavailable` (the cause is kept for the log, never sent). */
function unavailable(cause: unknown): WardenError {
  return new WardenError('service_unavailable', 'The token denylist is temporarily unavailable; retry later', {
    cause,
    headers: { 'retry-after': REDIS_RETRY_AFTER_SECONDS },
  });
}

/** A Redis operation whose failure becomes `unavailable`. The connection's own errors are already logged by whoever created the client. */
async function unavailableOnFailure<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    throw unavailable(error);
  }
}
