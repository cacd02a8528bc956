import { CompiledQuery, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DialectName, Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';

/**
 * The plan the database would choose for `query`, as one string. PostgreSQL is told to avoid
 * sequential scans, because on a near-empty table it prefers one even when an index serves:
 * what matters here is whether an index can serve at all.
 */
async function planOf(storage: Storage, dialect: DialectName, query: CompiledQuery): Promise<string> {
  const db = storage.db as unknown as Kysely<Record<string, never>>;
  if (dialect === 'sqlite') {
    const rows = await db.executeQuery<{ detail: string }>(CompiledQuery.raw(`EXPLAIN QUERY PLAN ${query.sql}`, [...query.parameters]));
    return rows.rows.map((r) => r.detail).join('\n');
  }
  return db.transaction().execute(async (trx) => {
    await trx.executeQuery(CompiledQuery.raw('SET LOCAL enable_seqscan = off'));
    const rows = await trx.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`EXPLAIN ${query.sql}`, [...query.parameters]));
    return rows.rows.map((r) => r['QUERY PLAN']).join('\n');
  });
}

describeEachDatabase('indexes of migration 0012', (dialect) => {
  let storage: Storage & { url: string };
  beforeAll(async () => {
    storage = await createTestStorage(dialect);
  });
  afterAll(async () => {
    await storage.close();
  });

  describe('the hourly pruning finds expired rows without reading every row', () => {
    it('refresh tokens by expires_at', async () => {
      const query = storage.db.deleteFrom('refresh_tokens').where('expires_at', '<=', 1_700_000_000_000).compile();
      expect(await planOf(storage, dialect, query)).toMatch(/refresh_tokens_expires_at/);
    });

    it('sessions by expires_at', async () => {
      const query = storage.db.deleteFrom('auth_sessions').where('expires_at', '<=', 1_700_000_000_000).compile();
      expect(await planOf(storage, dialect, query)).toMatch(/auth_sessions_expires_at/);
    });
  });

  it('the list of every OAuth client is read newest first from an index, not sorted', async () => {
    const query = storage.db
      .selectFrom('oauth_clients')
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(51)
      .compile();
    const plan = await planOf(storage, dialect, query);
    expect(plan).toMatch(/oauth_clients_created_id/);
    expect(plan).not.toMatch(/TEMP B-TREE|Sort/);
  });
});
