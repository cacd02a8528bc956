import type { Kysely } from 'kysely';
import { randomUUID } from 'node:crypto';
import type { DatabaseSchema } from '../storage/index.js';
import { LockedChain } from './audit-chain.js';
import { redactDetails } from './redact-details.js';

export interface PruneResult {
  readonly deleted: number;
  /** The last deleted position; the chain now starts right after it. */
  readonly through_seq: number | null;
}

/**
 * Deletes events older than `before` (epoch ms) in one transaction that also stores a signed
 * 'prune' checkpoint of the last deleted event (so verification resumes from its hash) and
 * appends an `audit.pruned` event. The only code path that deletes audit rows.
 */
export function pruneEvents(
  db: Kysely<DatabaseSchema>,
  options: { before: number; actor: string; checkpointKey: Uint8Array; now: number },
): Promise<PruneResult> {
  return db.transaction().execute(async (trx) => {
    const chain = await LockedChain.lock(trx, options.checkpointKey, options.now);
    const last = await trx
      .selectFrom('audit_events')
      .select(['seq', 'hash'])
      .where('occurred_at', '<', options.before)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    let result: PruneResult = { deleted: 0, through_seq: null };
    if (last !== undefined) {
      const throughSeq = Number(last.seq);
      const deleted = await trx.deleteFrom('audit_events').where('seq', '<=', throughSeq).executeTakeFirst();
      chain.checkpoint('prune', { seq: throughSeq, hash: last.hash });
      result = { deleted: Number(deleted.numDeletedRows), through_seq: throughSeq };
    }
    const newHead = await chain.append([
      {
        id: randomUUID(),
        occurred_at: options.now,
        action: 'audit.pruned',
        actor: options.actor,
        entity_type: 'audit_log',
        entity_id: null,
        outcome: 'success',
        ip: null,
        user_agent: null,
        request_id: null,
        details: redactDetails({ before: new Date(options.before).toISOString(), deleted: result.deleted, through_seq: result.through_seq }),
      },
    ]);
    chain.checkpoint('head', newHead);
    await chain.seal();
    return result;
  });
}
