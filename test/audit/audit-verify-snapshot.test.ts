import { SelectQueryNode, TableNode, type Kysely, type KyselyPlugin } from 'kysely';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { appendEvents, type PreparedEvent } from '../../src/audit/audit-chain.js';
import { pruneEvents } from '../../src/audit/audit-prune.js';
import type { AuditLog } from '../../src/audit/audit-recorder.js';
import { verifyChain } from '../../src/audit/audit-verify.js';
import { signHead } from '../../src/audit/canonical-form.js';
import { openDatabase, type DatabaseSchema, type Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { CHECKPOINT_KEY, sampleEvent, testAuditLog } from './helpers.js';

/**
 * A view of `db` that runs `between` once, right after the first query reading `table` has
 * returned and before the next one starts: a write landing at an exact point of a verification.
 */
function pauseAfterFirstRead(db: Kysely<DatabaseSchema>, table: string, between: () => Promise<unknown>): Kysely<DatabaseSchema> {
  const watched = new Set<string>();
  let fired = false;
  const plugin: KyselyPlugin = {
    transformQuery({ node, queryId }) {
      const reads = SelectQueryNode.is(node) && (node.from?.froms ?? []).some((f) => TableNode.is(f) && f.table.identifier.name === table);
      if (reads) watched.add(queryId.queryId);
      return node;
    },
    async transformResult({ result, queryId }) {
      if (!fired && watched.has(queryId.queryId)) {
        fired = true;
        await between();
      }
      return result;
    },
  };
  return db.withPlugin(plugin);
}

describeEachDatabase('audit verification of a chain that is being written', (dialect) => {
  let storage: Storage & { url: string };
  let clock: number;
  let log: AuditLog;

  beforeEach(async () => {
    storage = await createTestStorage(dialect);
    clock = Date.parse('2026-01-01T00:00:00Z');
    // A signed checkpoint with every batch: checkpoints committed mid-verification must not look like truncation.
    log = testAuditLog(storage, { now: () => (clock += 1000), checkpointIntervalMs: 0 });
  });
  afterEach(async () => {
    await log.close().catch(() => undefined);
    await storage.close();
  });

  const verify = (db: Kysely<DatabaseSchema> = storage.db) => verifyChain(db, { checkpointKey: CHECKPOINT_KEY, pageSize: 7 });
  const headSeq = async (): Promise<number> =>
    Number((await storage.db.selectFrom('audit_chain_head').select('seq').where('id', '=', 'head').executeTakeFirstOrThrow()).seq);
  const recordMany = async (n: number): Promise<void> => {
    await Promise.all(Array.from({ length: n }, (_, i) => log.record(sampleEvent(i))));
  };

  it('is valid on every run while events are recorded and checkpointed concurrently', async () => {
    await recordMany(40);
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        const batch = recordMany(5);
        // Commit now rather than on the 2 ms timer: on SQLite every query is synchronous
        // underneath, so a timer would never fire in the middle of a verification.
        await log.flush();
        await batch;
        written += 5;
      }
    })();
    let overlapped = 0;
    try {
      // Until five verifications have raced a commit (a run that saw none would prove nothing).
      for (let run = 0; run < 50 && overlapped < 5; run += 1) {
        const before = written;
        const report = await verifyChain(storage.db, { checkpointKey: CHECKPOINT_KEY, pageSize: 25 });
        expect(report).toMatchObject({ valid: true, first_broken: null, first_seq: 1 });
        expect(report.checked_events).toBe(report.last_seq);
        if (written > before) overlapped += 1;
      }
    } finally {
      writing = false;
      await writer;
    }
    expect(overlapped).toBe(5);
    expect(await verify()).toMatchObject({ valid: true, last_seq: await headSeq() });
  });

  it('leaves events committed after its start to the next verification', async () => {
    await recordMany(10);
    const second = openDatabase(storage.url);
    try {
      // Another instance appends (with a checkpoint) just after this verification read the events.
      const racing = pauseAfterFirstRead(storage.db, 'audit_events', () =>
        appendEvents(second.db, [{ ...sampleRow(), id: 'late-1' }, { ...sampleRow(), id: 'late-2' }], { now: clock, key: CHECKPOINT_KEY, checkpoint: true }),
      );
      // One page, so the append lands after the last event read (where a head read late disagrees).
      expect(await verifyChain(racing, { checkpointKey: CHECKPOINT_KEY })).toMatchObject({ valid: true, checked_events: 10, last_seq: 10 });
    } finally {
      await second.close();
    }
    expect(await verify()).toMatchObject({ valid: true, checked_events: 12, last_seq: 12 });
  });

  it('is valid when the first append of a new log commits after it read the unsigned genesis head', async () => {
    const second = openDatabase(storage.url);
    try {
      // The events query then sees the new row behind the genesis head it read.
      const racing = pauseAfterFirstRead(storage.db, 'audit_chain_head', () =>
        appendEvents(second.db, [{ ...sampleRow(), id: 'first' }], { now: clock, key: CHECKPOINT_KEY }),
      );
      expect(await verify(racing)).toMatchObject({ valid: true, checked_events: 1, last_seq: 1, first_broken: null });
    } finally {
      await second.close();
    }
  });

  it('is valid when a prune commits after it read the checkpoints', async () => {
    await recordMany(10);
    const second = openDatabase(storage.url);
    try {
      // Events 1..5 are older than event 6.
      const sixth = await storage.db.selectFrom('audit_events').select('occurred_at').where('seq', '=', 6).executeTakeFirstOrThrow();
      const before = Number(sixth.occurred_at);
      const racing = pauseAfterFirstRead(storage.db, 'audit_checkpoints', () =>
        pruneEvents(second.db, { before, actor: 'cli', checkpointKey: CHECKPOINT_KEY, now: clock }),
      );
      expect(await verify(racing)).toMatchObject({ valid: true, first_seq: 6, last_seq: 11, checked_events: 6 });
    } finally {
      await second.close();
    }
  });

  it('still reports a row deleted at or below the head it read, with writers running', async () => {
    await recordMany(10);
    await storage.db.deleteFrom('audit_events').where('seq', '=', 4).execute();
    const writes = recordMany(20);
    expect((await verify()).first_broken).toEqual({ id: null, seq: 4, reason: 'missing_event' });
    await writes;
  });

  it('still reports a head row that points beyond the last event', async () => {
    await recordMany(10);
    const head = await storage.db.selectFrom('audit_chain_head').selectAll().where('id', '=', 'head').executeTakeFirstOrThrow();
    // Moved without the key, the head's signature no longer matches…
    await storage.db.updateTable('audit_chain_head').set({ seq: 12 }).where('id', '=', 'head').execute();
    expect(await verify()).toMatchObject({ valid: false, last_seq: 10, first_broken: { id: null, seq: 12, reason: 'head_signature_invalid' } });
    // …and even signed (by a key holder, or a bug), a head past the last row is still caught.
    const seal = { seq: 12, hash: head.hash, checkpoint_ordinal: head.checkpoint_ordinal, checkpoint_signature: head.checkpoint_signature };
    await storage.db.updateTable('audit_chain_head').set({ signature: signHead(CHECKPOINT_KEY, seal) }).where('id', '=', 'head').execute();
    expect(await verify()).toMatchObject({ valid: false, last_seq: 10, first_broken: { id: null, seq: 11, reason: 'head_mismatch' } });
  });

  function sampleRow(): Omit<PreparedEvent, 'id'> {
    return {
      occurred_at: clock,
      action: 'user.updated',
      actor: 'instance-b',
      entity_type: 'user',
      entity_id: 'u1',
      outcome: 'success',
      ip: null,
      user_agent: null,
      request_id: null,
      details: null,
    };
  }
});
