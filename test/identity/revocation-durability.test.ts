import { afterEach, beforeEach, expect, inject, it, vi } from 'vitest';
import { RedisRevocationList } from '../../src/identity/revocation-list.js';
import { RevocationRows } from '../../src/identity/revocation-rows.js';
import type { Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { createTestRedis, type TestRedis } from '../helpers/redis.js';

const NOW = 1_800_000_000_000;
const LIFETIME = 930_000;
const token = (jti: string, extra: { userId?: string; sessionId?: string; issuedAtMs?: number } = {}) => ({
  jti,
  userId: extra.userId ?? 'someone',
  issuedAtMs: extra.issuedAtMs ?? NOW,
  sessionId: extra.sessionId,
});

/** What a Redis restart without persistence, or a FLUSHDB, leaves of Warden's keys: nothing. */
async function forgetEverything(redis: TestRedis): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.redis.scan(cursor, 'MATCH', `${redis.prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.redis.del(...keys);
  } while (cursor !== '0');
}

/** The database is the record of revocations; Redis serves the checks and may forget or miss them. */
describeEachDatabase('revocations with Redis: the database keeps them', (dialect) => {
  let storage: Storage;
  let redis: TestRedis;
  let instances: RedisRevocationList[] = [];
  /** One Warden instance's denylist: all share the Redis and the database. */
  const instance = (options: ConstructorParameters<typeof RedisRevocationList>[4] = {}) => {
    const list = new RedisRevocationList(redis.redis, redis.prefix, () => NOW, new RevocationRows(storage.db), options);
    instances.push(list);
    return list;
  };

  beforeEach(async (context) => {
    if (!inject('redisAvailable')) context.skip();
    storage = await createTestStorage(dialect);
    redis = await createTestRedis();
  });
  afterEach(async () => {
    for (const list of instances) list.close();
    instances = [];
    vi.restoreAllMocks();
    await redis?.cleanup();
    await storage?.close();
  });

  it('a logged-out token, an ended session and a logout-all stay revoked after Redis forgets every key', async () => {
    const a = instance();
    await a.revokeToken('logged-out', NOW + LIFETIME);
    await a.revokeSession('ended-session', NOW + LIFETIME);
    await a.revokeUser('user-1', { atMs: NOW, untilMs: NOW + LIFETIME });
    await forgetEverything(redis);
    // On this instance and on another one sharing the Redis and the database.
    for (const list of [a, instance()]) {
      expect(await list.isRevoked(token('logged-out'))).toBe(true);
      expect(await list.isRevoked(token('fresh', { sessionId: 'ended-session' }))).toBe(true);
      expect(await list.isRevoked(token('fresh', { userId: 'user-1', issuedAtMs: NOW - 1 }))).toBe(true);
      expect(await list.isRevoked(token('fresh', { userId: 'user-1', issuedAtMs: NOW + 1 }))).toBe(false);
      expect(await list.isRevoked(token('fresh', { sessionId: 'live-session' }))).toBe(false);
    }
    // Refilled: the next check needs no second fill.
    expect(await redis.redis.get(`${redis.prefix}revoked:jti:logged-out`)).toBe('1');
  });

  it('a revocation whose Redis write fails still succeeds, is kept in the database, and reaches Redis before this instance answers again', async () => {
    const reported: unknown[] = [];
    const a = instance({ onRedisError: (error) => reported.push(error) });
    expect(await a.isRevoked(token('warm-up'))).toBe(false);
    vi.spyOn(redis.redis, 'set').mockRejectedValueOnce(new Error('connect ECONNREFUSED'));
    await a.revokeToken('during-outage', NOW + LIFETIME);
    expect(reported).toHaveLength(1);
    expect(await storage.db.selectFrom('revoked_tokens').select('subject').execute()).toEqual([{ subject: 'jti:during-outage' }]);
    expect(await a.isRevoked(token('during-outage'))).toBe(true);
    expect(await instance().isRevoked(token('during-outage'))).toBe(true);
  });

  it('tells every instance of a missed revocation through the database, also when the instance that missed it is gone', async () => {
    const a = instance();
    const other = instance();
    expect(await other.isRevoked(token('warm-up'))).toBe(false);
    vi.spyOn(redis.redis, 'set').mockRejectedValueOnce(new Error('connect ECONNREFUSED'));
    await a.revokeToken('missed', NOW + LIFETIME);
    a.close();
    // The other instance looks each second, and refills Redis before trusting it again.
    await vi.waitFor(async () => expect(await other.isRevoked(token('missed'))).toBe(true), { timeout: 10_000, interval: 100 });
    // An instance started afterwards reads it from Redis, whose count caught up with the database's.
    expect(await instance().isRevoked(token('missed'))).toBe(true);
    expect(Number(await redis.redis.get(`${redis.prefix}revoked:sequence`))).toBe(await new RevocationRows(storage.db).sequence());
  });

  it('refills a write it missed even when a later revocation on another instance raised the count past it', async () => {
    const a = instance();
    const b = instance();
    expect(await b.isRevoked(token('warm-up'))).toBe(false);
    vi.spyOn(redis.redis, 'set').mockRejectedValueOnce(new Error('connect ECONNREFUSED'));
    await a.revokeToken('missed-by-redis', NOW + LIFETIME);
    vi.restoreAllMocks();
    await b.revokeToken('written-later', NOW + LIFETIME);
    // Redis's count now equals the database's, yet lacks the first revocation: the instance that missed it refills.
    await vi.waitFor(async () => expect(await b.isRevoked(token('missed-by-redis'))).toBe(true), { timeout: 10_000, interval: 100 });
  });

  it('notices a Redis that lost recent revocations but kept the rest (a snapshot restored, a replica promoted), and refills it', async () => {
    const a = instance();
    await a.revokeToken('older', NOW + LIFETIME);
    await a.revokeToken('recent', NOW + LIFETIME);
    expect(await a.isRevoked(token('recent'))).toBe(true);
    // What an older snapshot holds: the first revocation, its count, and the `loaded` key.
    await redis.redis.del(`${redis.prefix}revoked:jti:recent`);
    await redis.redis.set(`${redis.prefix}revoked:sequence`, '1');
    const other = instance();
    await vi.waitFor(async () => expect(await other.isRevoked(token('recent'))).toBe(true), { timeout: 10_000, interval: 100 });
    expect(await a.isRevoked(token('older'))).toBe(true);
  });

  it('does not vouch for a fill during which Redis was emptied: it fills again', async () => {
    const a = instance();
    await a.revokeToken('logged-out', NOW + LIFETIME);
    await forgetEverything(redis);
    const read = RevocationRows.prototype.unexpired;
    let flushes = 0;
    vi.spyOn(RevocationRows.prototype, 'unexpired').mockImplementation(async function (this: RevocationRows, nowMs: number) {
      const rows = await read.call(this, nowMs);
      // A FLUSHDB (or a restart) lands between reading the table and marking Redis filled.
      if (flushes++ === 0) await forgetEverything(redis);
      return rows;
    });
    expect(await a.isRevoked(token('logged-out'))).toBe(true);
    expect(flushes).toBe(2);
    expect(await redis.redis.get(`${redis.prefix}revoked:jti:logged-out`)).toBe('1');
  });

  /** What an older snapshot, or a replica that lagged, holds: the first revocation and its count, not the second. */
  const restoreOlderSnapshot = async () => {
    await redis.redis.del(`${redis.prefix}revoked:jti:recent`);
    await redis.redis.set(`${redis.prefix}revoked:sequence`, '1');
  };

  it('a revocation written after a snapshot was restored does not hide the ones the snapshot lost', async () => {
    const a = instance();
    const b = instance();
    await a.revokeToken('older', NOW + LIFETIME);
    await a.revokeToken('recent', NOW + LIFETIME);
    expect(await b.isRevoked(token('recent'))).toBe(true);
    await restoreOlderSnapshot();
    // A logout elsewhere lands before any instance compares the counts.
    await b.revokeToken('unrelated', NOW + LIFETIME);
    // Redis counts only what it holds without a gap: the lost revocation holds its count back.
    expect(Number(await redis.redis.get(`${redis.prefix}revoked:sequence`))).toBe(1);
    await vi.waitFor(async () => expect(await a.isRevoked(token('recent'))).toBe(true), { timeout: 10_000, interval: 100 });
    expect(await instance().isRevoked(token('recent'))).toBe(true);
    expect(Number(await redis.redis.get(`${redis.prefix}revoked:sequence`))).toBe(await new RevocationRows(storage.db).sequence());
  });

  it('revocations that reach Redis out of order still bring its count up to the database\'s, without a fill', async () => {
    const a = instance();
    expect(await a.isRevoked(token('warm-up'))).toBe(false);
    const rows = new RevocationRows(storage.db);
    const unexpired = vi.spyOn(RevocationRows.prototype, 'unexpired');
    // Two instances count 1 and 2; the second one's Redis write lands first.
    const client = redis.redis as unknown as { wardenAdvanceRevocationSequence(sequenceKey: string, arrivedKey: string, n: string): Promise<number> };
    const keys = [`${redis.prefix}revoked:sequence`, `${redis.prefix}revoked:arrived`] as const;
    const [first, second] = [await rows.nextSequence(NOW), await rows.nextSequence(NOW)];
    expect(await client.wardenAdvanceRevocationSequence(...keys, String(second))).toBe(0);
    expect(await client.wardenAdvanceRevocationSequence(...keys, String(first))).toBe(2);
    expect(await redis.redis.zcard(keys[1])).toBe(0);
    expect(unexpired).not.toHaveBeenCalled();
  });

  it('an instance that dies holding the fill lease delays the refill by seconds, not half a minute', async () => {
    const a = instance();
    await a.revokeToken('older', NOW + LIFETIME);
    await a.revokeToken('recent', NOW + LIFETIME);
    expect(await a.isRevoked(token('warm-up'))).toBe(false);
    a.close();
    // An instance whose fill never ends (frozen, or killed after it took the lease).
    const stuckRows = new RevocationRows(storage.db);
    stuckRows.unexpired = () => new Promise(() => undefined);
    const frozen = new RedisRevocationList(redis.redis, redis.prefix, () => NOW, stuckRows);
    instances.push(frozen);
    await restoreOlderSnapshot();
    await vi.waitFor(async () => expect(await redis.redis.get(`${redis.prefix}revoked:fill-lease`)).not.toBeNull(), { timeout: 5000, interval: 50 });
    const b = instance();
    expect(await b.isRevoked(token('recent'))).toBe(false);
    await vi.waitFor(async () => expect(await b.isRevoked(token('recent'))).toBe(true), { timeout: 8000, interval: 100 });
  }, 20_000);

  it('does not vouch for a fill whose rows a restored snapshot or a failover took back (the canary survives those)', async () => {
    const a = instance();
    await a.revokeToken('older', NOW + LIFETIME);
    await a.revokeToken('recent', NOW + LIFETIME);
    await restoreOlderSnapshot();
    const client = redis.redis as unknown as Record<string, (...args: unknown[]) => Promise<number>>;
    const complete = client.wardenCompleteRevocationFill?.bind(redis.redis);
    let completions = 0;
    client.wardenCompleteRevocationFill = async (...args: unknown[]) => {
      // The fill wrote 'recent' and its mark; then Redis goes back to the older copy.
      if (completions++ === 0) {
        expect(await redis.redis.get(`${redis.prefix}revoked:jti:recent`)).toBe('1');
        await restoreOlderSnapshot();
        // Set after the snapshot was taken, the fill's mark is gone with it (when there is one).
        const marks = await redis.redis.keys(`${redis.prefix}revoked:fill-mark:*`);
        if (marks.length > 0) await redis.redis.del(...marks);
      }
      return (complete as (...args: unknown[]) => Promise<number>)(...args);
    };
    try {
      await vi.waitFor(async () => expect(await instance().isRevoked(token('recent'))).toBe(true), { timeout: 10_000, interval: 100 });
      expect(completions).toBeGreaterThan(1);
    } finally {
      delete client.wardenCompleteRevocationFill;
    }
  });

  it('writes a revocation\'s row and its count together: neither stands without the other', async () => {
    const a = instance();
    expect(await a.isRevoked(token('warm-up'))).toBe(false);
    vi.spyOn(RevocationRows.prototype, 'nextSequence').mockRejectedValueOnce(new Error('connection terminated'));
    await expect(a.revokeToken('lost', NOW + LIFETIME)).rejects.toThrow('connection terminated');
    // The caller was told; nothing half-written is left to be missed by everyone.
    expect(await storage.db.selectFrom('revoked_tokens').select('subject').execute()).toEqual([]);
    await a.revokeToken('lost', NOW + LIFETIME);
    expect(await instance().isRevoked(token('lost'))).toBe(true);
  });

  it('fails closed while Redis cannot answer, and does not read the table for every check', async () => {
    const a = instance();
    await a.revokeToken('revoked', NOW + LIFETIME);
    vi.spyOn(redis.redis, 'mget').mockRejectedValue(new Error('connect ECONNREFUSED'));
    vi.spyOn(redis.redis, 'exists').mockRejectedValue(new Error('connect ECONNREFUSED'));
    const reads = vi.spyOn(RevocationRows.prototype, 'unexpired');
    for (let i = 0; i < 5; i++) await expect(a.isRevoked(token('revoked'))).rejects.toMatchObject({ code: 'service_unavailable', status: 503 });
    expect(reads).not.toHaveBeenCalled();
  });

  it('sweeps expired rows from the database', async () => {
    let now = NOW;
    const list = new RedisRevocationList(redis.redis, redis.prefix, () => now, new RevocationRows(storage.db));
    await list.revokeToken('short', NOW + 1000);
    await list.revokeToken('long', NOW + LIFETIME);
    now = NOW + 2000;
    await list.sweep(now);
    expect(await storage.db.selectFrom('revoked_tokens').select('subject').execute()).toEqual([{ subject: 'jti:long' }]);
  });
});
