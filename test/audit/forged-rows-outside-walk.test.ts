import { afterEach, beforeEach, expect, it } from 'vitest';
import { pruneEvents } from '../../src/audit/audit-prune.js';
import { queryEvents } from '../../src/audit/audit-query.js';
import type { AuditLog } from '../../src/audit/audit-recorder.js';
import { verifyChain } from '../../src/audit/audit-verify.js';
import { GENESIS_HASH, hashEvent, type UnhashedEvent } from '../../src/audit/canonical-form.js';
import type { Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { CHECKPOINT_KEY, sampleEvent, testAuditLog } from './helpers.js';

/**
 * Someone with write access to the audit tables (not the key) inserts a made-up event at a seq
 * the verification walk does not read: below its start (seq 0 or less in a never-pruned log, or
 * a pruned seq) or above the head. Verification reports it as `unexpected_event`, naming the row.
 */
describeEachDatabase('verification reports rows outside the walked chain', (dialect) => {
  let storage: Storage & { url: string };
  let log: AuditLog;
  let clock: number;
  beforeEach(async () => {
    storage = await createTestStorage(dialect);
    clock = Date.parse('2026-01-01T00:00:00Z');
    log = testAuditLog(storage, { now: () => clock });
  });
  afterEach(async () => {
    await log.close().catch(() => undefined);
    await storage.close();
  });

  const verify = () => verifyChain(storage.db, { checkpointKey: CHECKPOINT_KEY });

  /** A self-consistent row (its hash matches its content) claiming an admin deleted a user. */
  const forge = async (seq: number, prev: string, occurredAt: number): Promise<void> => {
    const row: UnhashedEvent = {
      id: crypto.randomUUID(),
      seq,
      occurred_at: occurredAt,
      action: 'user.deleted',
      actor: '11111111-1111-4111-8111-111111111111',
      entity_type: 'user',
      entity_id: '22222222-2222-4222-8222-222222222222',
      outcome: 'success',
      ip: '203.0.113.7',
      user_agent: null,
      request_id: null,
      details: JSON.stringify({ reason: 'made up' }),
      prev_hash: prev,
    };
    await storage.db.insertInto('audit_events').values({ ...row, hash: hashEvent(row) }).execute();
  };

  it('reports a row inserted at seq 0 of a log that was never pruned (the query API shows it as an event)', async () => {
    for (let i = 1; i <= 3; i += 1) await log.record(sampleEvent(i));
    expect(await verify()).toMatchObject({ valid: true });
    await forge(0, GENESIS_HASH, clock - 1000);
    const page = await queryEvents(storage.db, { action: 'user.deleted' }, { limit: 10 });
    expect(page.data.map((e) => e.seq)).toEqual([0]); // served to every audit:read holder
    expect(await verify()).toMatchObject({ valid: false, first_broken: { seq: 0, reason: 'unexpected_event' } });
  });

  it('reports a row inserted into the pruned range (below the newest prune checkpoint)', async () => {
    for (let i = 1; i <= 5; i += 1) await log.record(sampleEvent(i));
    clock += 100 * 86_400_000;
    for (let i = 6; i <= 8; i += 1) await log.record(sampleEvent(i));
    expect(await pruneEvents(storage.db, { before: clock - 86_400_000, actor: 'cli', checkpointKey: CHECKPOINT_KEY, now: clock })).toMatchObject({ deleted: 5 });
    expect(await verify()).toMatchObject({ valid: true, first_seq: 6 });
    await forge(3, GENESIS_HASH, clock - 50 * 86_400_000);
    expect(await verify()).toMatchObject({ valid: false, first_broken: { seq: 3, reason: 'unexpected_event' } });
    // A prune does not go on deleting over it either.
    await expect(pruneEvents(storage.db, { before: clock, actor: 'cli', checkpointKey: CHECKPOINT_KEY, now: clock })).rejects.toMatchObject({ code: 'audit_chain_broken', reason: 'unexpected_event' });
  });

  it('reports a row inserted just above the head, which makes every later append fail', async () => {
    for (let i = 1; i <= 3; i += 1) await log.record(sampleEvent(i));
    const head = await storage.db.selectFrom('audit_chain_head').select(['seq', 'hash']).executeTakeFirstOrThrow();
    await forge(Number(head.seq) + 1, head.hash, clock);
    // The service can no longer record anything (every audited request answers 503)…
    await expect(log.record(sampleEvent(4))).rejects.toMatchObject({ code: 'audit_unavailable' });
    // …and no verification ever points at the cause: the head never moves past the forged row.
    expect(await verify()).toMatchObject({ valid: false, first_broken: { seq: Number(head.seq) + 1, reason: 'unexpected_event' } });
  });
});
