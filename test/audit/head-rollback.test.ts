import { afterEach, beforeEach, expect, it } from 'vitest';
import type { AuditLog } from '../../src/audit/audit-recorder.js';
import { verifyChain } from '../../src/audit/audit-verify.js';
import { GENESIS_HASH } from '../../src/audit/canonical-form.js';
import type { Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { CHECKPOINT_KEY, sampleEvent, testAuditLog } from './helpers.js';

/**
 * Neither the seq nor the checkpoint ordinal of the chain ever goes down. A correctly signed head
 * row put back from an earlier copy, with every event and checkpoint after it deleted, verifies
 * on its own; the running instance, which committed past it itself, does not sign over it: it
 * pins the head in an `unverified` mark, which verification reports until acknowledged.
 */
describeEachDatabase('audit head rollback', (dialect) => {
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

  it('an instance does not sign over a head older than one it committed itself (hours of events and checkpoints cut)', async () => {
    for (let i = 0; i < 10; i += 1) await log.record(sampleEvent(i));
    await log.checkpoint();
    // The attacker reads the head row once (write access to the database, no key).
    const copy = await storage.db.selectFrom('audit_chain_head').selectAll().executeTakeFirstOrThrow();
    // Three hours of activity, each hour with its periodic checkpoint.
    for (let hour = 0; hour < 3; hour += 1) {
      clock += 3_600_000;
      for (let i = 0; i < 10; i += 1) await log.record(sampleEvent(100 + hour * 10 + i));
    }
    expect(await verify()).toMatchObject({ valid: true, last_seq: 40 });

    // Roll back: everything after the copied head goes, checkpoints included, and the row is restored.
    await storage.db.deleteFrom('audit_events').where('seq', '>', Number(copy.seq)).execute();
    await storage.db
      .deleteFrom('audit_checkpoints')
      .where('ordinal', '>', Number(copy.checkpoint_ordinal))
      .execute();
    await storage.db.updateTable('audit_chain_head').set(copy).where('id', '=', 'head').execute();

    // The same instance, which committed seq 40 and checkpoint 4 itself, records on.
    clock += 1000;
    await log.record(sampleEvent(999));
    await log.checkpoint();
    const report = await verify();
    expect(report.valid).toBe(false);
    const marks = await storage.db
      .selectFrom('audit_checkpoints')
      .selectAll()
      .where('kind', '=', 'unverified')
      .execute();
    expect(marks.map((mark) => Number(mark.seq))).toEqual([Number(copy.seq)]);
  });

  it('leaves a log written only by this instance, checkpoints and all, as valid', async () => {
    for (let hour = 0; hour < 3; hour += 1) {
      clock += 3_600_000;
      for (let i = 0; i < 10; i += 1) await log.record(sampleEvent(hour * 10 + i));
    }
    await log.checkpoint();
    expect(await verify()).toMatchObject({ valid: true, last_seq: 30 });
    expect(
      await storage.db
        .selectFrom('audit_checkpoints')
        .select('id')
        .where('kind', '=', 'unverified')
        .execute(),
    ).toEqual([]);
  });

  it('flags a log emptied under it at once, pinning the empty head, and never a head it signed itself', async () => {
    for (let i = 0; i < 5; i += 1) await log.record(sampleEvent(i));
    await log.checkpoint();
    await storage.db.deleteFrom('audit_events').execute();
    await storage.db.deleteFrom('audit_checkpoints').execute();
    await storage.db
      .updateTable('audit_chain_head')
      .set({ seq: 0, hash: GENESIS_HASH, checkpoint_ordinal: 0, checkpoint_signature: null, signature: null })
      .where('id', '=', 'head')
      .execute();
    await log.record(sampleEvent(10));
    await log.record(sampleEvent(11));
    const marks = await storage.db
      .selectFrom('audit_checkpoints')
      .select(['seq', 'kind'])
      .where('kind', '=', 'unverified')
      .execute();
    expect(marks.map((mark) => Number(mark.seq))).toEqual([0]);
    expect((await verify()).valid).toBe(false);
  });
});
