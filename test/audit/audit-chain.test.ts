import { sql } from 'kysely';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { AuditLog } from '../../src/audit/audit-recorder.js';
import { verifyChain } from '../../src/audit/audit-verify.js';
import { signCheckpoint } from '../../src/audit/canonical-form.js';
import { deriveKey } from '../../src/crypto/derive-key.js';
import { openDatabase, type Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { CHECKPOINT_KEY, sampleEvent, testAuditLog } from './helpers.js';

describeEachDatabase('audit hash chain', (dialect) => {
  let storage: Storage & { url: string };
  let log: AuditLog;

  beforeEach(async () => {
    storage = await createTestStorage(dialect);
    log = testAuditLog(storage);
  });
  afterEach(async () => {
    await log.close().catch(() => undefined);
    await storage.close();
  });

  const recordMany = (n: number): Promise<void[]> => Promise.all(Array.from({ length: n }, (_, i) => log.record(sampleEvent(i))));
  const verify = () => verifyChain(storage.db, { checkpointKey: CHECKPOINT_KEY, pageSize: 7 });
  const rowAt = (seq: number) => storage.db.selectFrom('audit_events').selectAll().where('seq', '=', seq).executeTakeFirstOrThrow();

  it('commits the row before record() resolves and chains every event', async () => {
    await log.record(sampleEvent(1, { action: 'auth.login.succeeded', actor: 'user-1', ip: '203.0.113.9', request_id: 'req-1' }));
    // No flush, no close: the row is already committed and readable from another connection.
    const other = openDatabase(storage.url);
    try {
      const rows = await other.db.selectFrom('audit_events').selectAll().execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ seq: 1, action: 'auth.login.succeeded', actor: 'user-1', prev_hash: '0'.repeat(64), request_id: 'req-1' });
    } finally {
      await other.close();
    }
    await recordMany(25);
    const report = await verify();
    expect(report).toMatchObject({ valid: true, checked_events: 26, first_seq: 1, last_seq: 26, first_broken: null });
    const seqs = (await storage.db.selectFrom('audit_events').select('seq').orderBy('seq').execute()).map((r) => r.seq);
    expect(seqs).toEqual(Array.from({ length: 26 }, (_, i) => i + 1));
  });

  it('detects an edited row', async () => {
    await recordMany(10);
    const target = await rowAt(4);
    await storage.db.updateTable('audit_events').set({ outcome: 'failure' }).where('id', '=', target.id).execute();
    expect((await verify()).first_broken).toEqual({ id: target.id, seq: 4, reason: 'hash_mismatch' });
  });

  it('detects an edited row whose hash was recomputed naively (link to the successor breaks)', async () => {
    await recordMany(10);
    const target = await rowAt(4);
    // The attacker edits details and fixes this row's own hash, but cannot fix every later row's prev_hash consistently.
    const { hashEvent } = await import('../../src/audit/canonical-form.js');
    const edited = { ...target, details: '{"i":999}' };
    await storage.db.updateTable('audit_events').set({ details: edited.details, hash: hashEvent(edited) }).where('id', '=', target.id).execute();
    const next = await rowAt(5);
    expect((await verify()).first_broken).toEqual({ id: next.id, seq: 5, reason: 'prev_hash_mismatch' });
  });

  it('detects a deleted row', async () => {
    await recordMany(10);
    await storage.db.deleteFrom('audit_events').where('seq', '=', 6).execute();
    expect((await verify()).first_broken).toEqual({ id: null, seq: 6, reason: 'missing_event' });
  });

  it('detects a swapped pair', async () => {
    await recordMany(10);
    const a = await rowAt(3);
    const b = await rowAt(4);
    await storage.db.updateTable('audit_events').set({ seq: -1 }).where('id', '=', a.id).execute();
    await storage.db.updateTable('audit_events').set({ seq: 3 }).where('id', '=', b.id).execute();
    await storage.db.updateTable('audit_events').set({ seq: 4 }).where('id', '=', a.id).execute();
    const report = await verify();
    expect(report.valid).toBe(false);
    expect(report.first_broken).toMatchObject({ id: b.id, seq: 3 });
  });

  it('detects a truncated tail through a signed checkpoint, even when the head row is rewritten', async () => {
    await recordMany(10);
    await log.close(); // writes a signed checkpoint of the head (seq 10)
    expect(await verify()).toMatchObject({ valid: true, checked_checkpoints: 1 });
    const newLast = await rowAt(7);
    await storage.db.deleteFrom('audit_events').where('seq', '>', 7).execute();
    await storage.db.updateTable('audit_chain_head').set({ seq: 7, hash: newLast.hash }).where('id', '=', 'head').execute();
    expect((await verify()).first_broken).toEqual({ id: null, seq: 8, reason: 'truncated_tail' });
  });

  it('detects a truncated tail without a checkpoint when the head row was left alone', async () => {
    await recordMany(5);
    await storage.db.deleteFrom('audit_events').where('seq', '=', 5).execute();
    expect((await verify()).first_broken).toMatchObject({ seq: 5, reason: 'head_mismatch' });
  });

  it('rejects a checkpoint that is not signed with the derived key', async () => {
    await recordMany(3);
    const head = await rowAt(3);
    const forged = { id: 'forged', seq: 3, hash: head.hash, created_at: 1, kind: 'head' };
    const wrongKey = deriveKey('another-secret-entirely-another-secret-entirely', 'audit-checkpoint:v1');
    await storage.db.insertInto('audit_checkpoints').values({ ...forged, signature: signCheckpoint(wrongKey, forged) }).execute();
    expect((await verify()).first_broken).toEqual({ id: 'forged', seq: 3, reason: 'checkpoint_signature_invalid' });
  });

  it('yields one valid chain from two instances writing concurrently', async () => {
    const second = openDatabase(storage.url, { poolSize: 5 });
    const otherLog = testAuditLog(second);
    try {
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 150; i += 1) {
        writes.push(log.record(sampleEvent(i, { actor: 'instance-a' })));
        writes.push(otherLog.record(sampleEvent(i, { actor: 'instance-b' })));
        // Spread the events over many batches so the instances interleave.
        if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      }
      await Promise.all(writes);
      await otherLog.close();
    } finally {
      await second.close();
    }
    const report = await verify();
    expect(report).toMatchObject({ valid: true, checked_events: 300, last_seq: 300 });
    const perActor = await storage.db.selectFrom('audit_events').select(['actor', sql<number>`count(*)`.as('n')]).groupBy('actor').orderBy('actor').execute();
    expect(perActor.map((r) => [r.actor, Number(r.n)])).toEqual([
      ['instance-a', 150],
      ['instance-b', 150],
    ]);
  });

  it('rejects record() with audit_unavailable when the commit fails, and stores nothing', async () => {
    await storage.db.schema.dropTable('audit_chain_head').execute();
    await expect(log.record(sampleEvent(1))).rejects.toMatchObject({ code: 'audit_unavailable' });
    expect(await storage.db.selectFrom('audit_events').selectAll().execute()).toHaveLength(0);
  });

  it('refuses unknown actions and outcomes (misuse is a programming error)', async () => {
    await expect(log.record({ ...sampleEvent(1), action: 'nope' as never })).rejects.toThrow(TypeError);
    await expect(log.record({ ...sampleEvent(1), outcome: 'maybe' as never })).rejects.toThrow(TypeError);
  });
});
