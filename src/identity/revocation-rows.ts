import { sql, type Kysely } from 'kysely';
import type { DatabaseSchema } from '../storage/index.js';

/** The `system_state` key of the revocation sequence. */
const SEQUENCE_KEY = 'revocation_sequence';

/** One unexpired revocation as the `revoked_tokens` table keeps it. */
export type RevocationRow =
  | { readonly kind: 'jti' | 'session'; readonly id: string; readonly expiresAtMs: number }
  | { readonly kind: 'user'; readonly id: string; readonly notBeforeMs: number; readonly expiresAtMs: number };

/**
 * The durable record of revocations (`revoked_tokens`): what a restart of Warden, or of a Redis
 * that keeps nothing on disk, must not forget. Subjects are `jti:<jti>`, `session:<id>` and
 * `user:<id>` (an "issued up to" marker).
 */
export class RevocationRows {
  constructor(private readonly db: Kysely<DatabaseSchema>) {}

  /** Records a revoked jti or session until `expiresAtMs`. */
  async add(kind: 'jti' | 'session', id: string, expiresAtMs: number): Promise<void> {
    await this.db
      .insertInto('revoked_tokens')
      .values({ subject: `${kind}:${id}`, not_before: null, expires_at: expiresAtMs })
      .onConflict((oc) => oc.column('subject').doNothing())
      .execute();
  }

  /** Raises a subject's "issued up to" marker: each column keeps the larger of the stored and the new value. */
  async raiseUser(userId: string, options: { readonly atMs: number; readonly untilMs: number }): Promise<void> {
    // CASE rather than GREATEST/MAX, which SQLite and PostgreSQL spell differently.
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

  /** Every revocation still in force at `nowMs`. */
  async unexpired(nowMs: number): Promise<RevocationRow[]> {
    const rows = await this.db.selectFrom('revoked_tokens').selectAll().where('expires_at', '>', nowMs).execute();
    const found: RevocationRow[] = [];
    for (const row of rows) {
      const expiresAtMs = Number(row.expires_at);
      if (row.subject.startsWith('jti:')) found.push({ kind: 'jti', id: row.subject.slice(4), expiresAtMs });
      else if (row.subject.startsWith('session:')) found.push({ kind: 'session', id: row.subject.slice(8), expiresAtMs });
      else if (row.subject.startsWith('user:') && row.not_before !== null) {
        found.push({ kind: 'user', id: row.subject.slice(5), notBeforeMs: Number(row.not_before), expiresAtMs });
      }
    }
    return found;
  }

  /**
   * Writes a revocation's row (with `write`) and counts it, in one transaction: a row that is
   * never counted would never be mirrored to Redis nor missed by anyone, and a count whose row
   * is not yet visible would let a fill vouch for a row it did not read. Returns the count.
   */
  async counted(atMs: number, write: (rows: RevocationRows) => Promise<void>): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const rows = new RevocationRows(trx);
      await write(rows);
      return rows.nextSequence(atMs);
    });
  }

  /**
   * Counts one more revocation and returns the count: the revocation sequence, which Redis
   * keeps a copy of. A Redis whose copy is lower lacks revocations (a write that failed, a
   * snapshot restored, a replica promoted), and is refilled from this table.
   */
  async nextSequence(atMs: number): Promise<number> {
    const row = await this.db
      .insertInto('system_state')
      .values({ key: SEQUENCE_KEY, value: '1', updated_at: atMs })
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          // Text in the table (as every system_state value), counted as a number.
          value: sql<string>`cast(cast(system_state.value as bigint) + 1 as text)`,
          updated_at: atMs,
        }),
      )
      .returning('value')
      .executeTakeFirstOrThrow();
    return Number(row.value);
  }

  /** The revocation sequence: how many revocations were ever recorded (0 before the first). */
  async sequence(): Promise<number> {
    const row = await this.db.selectFrom('system_state').select('value').where('key', '=', SEQUENCE_KEY).executeTakeFirst();
    return row === undefined ? 0 : Number(row.value);
  }

  /** Deletes the rows that no longer deny anything. */
  async deleteExpired(nowMs: number): Promise<void> {
    await this.db.deleteFrom('revoked_tokens').where('expires_at', '<=', nowMs).execute();
  }
}
