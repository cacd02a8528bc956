import pino from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { acknowledgeUnverified } from '../../src/audit/audit-acknowledge.js';
import { pruneEvents } from '../../src/audit/audit-prune.js';
import { createAuditLog, type AuditLog } from '../../src/audit/audit-recorder.js';
import { verifyChain } from '../../src/audit/audit-verify.js';
import { GENESIS_HASH, hashEvent, signCheckpoint } from '../../src/audit/canonical-form.js';
import { migrateToLatest, openDatabase, type Storage } from '../../src/storage/index.js';
import { MIGRATIONS } from '../../src/storage/migrations/index.js';
import { createTestDatabase, createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { CHECKPOINT_KEY, sampleEvent, testAuditLog } from './helpers.js';

/** The reviewer's tampering scenarios against the signed head and the chain of checkpoints. */
describeEachDatabase('audit head seal and checkpoint chain', (dialect) => {
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

  const db = () => storage.db;
  const verify = () => verifyChain(storage.db, { checkpointKey: CHECKPOINT_KEY, pageSize: 7 });
  const record = async (from: number, to: number): Promise<void> => {
    for (let i = from; i <= to; i += 1) await log.record(sampleEvent(i));
  };
  const rowAt = (seq: number) => db().selectFrom('audit_events').selectAll().where('seq', '=', seq).executeTakeFirstOrThrow();
  const checkpoints = () => db().selectFrom('audit_checkpoints').selectAll().orderBy('ordinal').execute();

  /** Rewrites every event from `seq` on so that the hash chain is consistent again (an attacker without the key can). */
  const rehashFrom = async (seq: number): Promise<string> => {
    let prev = seq === 1 ? GENESIS_HASH : (await rowAt(seq - 1)).hash;
    for (const row of await db().selectFrom('audit_events').selectAll().where('seq', '>=', seq).orderBy('seq').execute()) {
      const hash = hashEvent({ ...row, prev_hash: prev });
      await db().updateTable('audit_events').set({ prev_hash: prev, hash }).where('id', '=', row.id).execute();
      prev = hash;
    }
    return prev;
  };

  /** 1..10, checkpoint, 11..15: the reviewer's setup (the last five events are after the newest checkpoint). */
  const reviewerSetup = async (): Promise<void> => {
    await record(1, 10);
    await log.checkpoint();
    await record(11, 15);
    expect(await verify()).toMatchObject({ valid: true, checked_events: 15, last_seq: 15, legacy_through_seq: null });
  };

  it('an untouched log verifies, and its head is signed and names the newest checkpoint', async () => {
    await reviewerSetup();
    clock += 3_600_000;
    await pruneEvents(db(), { before: clock - 1000, actor: 'cli', checkpointKey: CHECKPOINT_KEY, now: clock });
    await record(16, 20);
    await log.checkpoint();
    const report = await verify();
    expect(report).toMatchObject({ valid: true, first_seq: 16, last_seq: 21, checked_events: 6, checked_checkpoints: 5, first_broken: null });
    const chain = await checkpoints();
    // On demand (10), prune (15) and the head after it (16), periodic with the first batch an hour later (17), on demand (21).
    expect(chain.map((c) => [c.ordinal, c.kind, c.seq])).toEqual([
      [1, 'head', 10],
      [2, 'prune', 15],
      [3, 'head', 16],
      [4, 'head', 17],
      [5, 'head', 21],
    ]);
    expect(chain.map((c) => c.prev_signature)).toEqual([null, ...chain.slice(0, -1).map((c) => c.signature)]);
    const head = await db().selectFrom('audit_chain_head').selectAll().executeTakeFirstOrThrow();
    expect(head).toMatchObject({ seq: 21, checkpoint_ordinal: 5, checkpoint_signature: chain[4]?.signature });
    expect(head.signature).toMatch(/^[0-9a-f]{64}$/);
  });

  it('detects a tail cut after the newest checkpoint with the head row rewritten, and later appends do not hide it', async () => {
    await reviewerSetup();
    await db().deleteFrom('audit_events').where('seq', '>', 12).execute();
    const last = await rowAt(12);
    await db().updateTable('audit_chain_head').set({ seq: 12, hash: last.hash }).where('id', '=', 'head').execute();
    expect(await verify()).toMatchObject({ valid: false, last_seq: 12, first_broken: { id: null, seq: 12, reason: 'head_signature_invalid' } });

    // The service keeps recording on top of the head it found, but pins that head in a signed
    // checkpoint instead of signing over it: the cut stays visible for good.
    await record(100, 102);
    const mark = (await checkpoints()).at(-1);
    expect(mark).toMatchObject({ kind: 'unverified', seq: 12, hash: last.hash });
    expect((await verify()).first_broken).toEqual({ id: mark?.id, seq: 12, reason: 'head_signature_invalid' });
  });

  it('detects a head row whose signature was removed', async () => {
    await reviewerSetup();
    await db().deleteFrom('audit_events').where('seq', '>', 12).execute();
    await db().updateTable('audit_chain_head').set({ seq: 12, hash: (await rowAt(12)).hash, signature: null }).where('id', '=', 'head').execute();
    expect((await verify()).first_broken).toEqual({ id: null, seq: 12, reason: 'head_unsigned' });
    await record(100, 100);
    expect((await verify()).first_broken).toMatchObject({ seq: 12, reason: 'head_signature_invalid' });
  });

  it('detects the deletion of any one checkpoint, whatever its kind', async () => {
    await record(1, 5);
    await log.checkpoint();
    clock += 3_600_000;
    await record(6, 8);
    await pruneEvents(db(), { before: clock - 1000, actor: 'cli', checkpointKey: CHECKPOINT_KEY, now: clock });
    await record(9, 12);
    await log.checkpoint();
    await record(13, 14);
    const all = await checkpoints();
    expect(all.map((c) => c.kind)).toEqual(['head', 'head', 'prune', 'head', 'head']);
    expect((await verify()).valid).toBe(true);
    for (const [index, checkpoint] of all.entries()) {
      await db().deleteFrom('audit_checkpoints').where('id', '=', checkpoint.id).execute();
      const next = all[index + 1];
      // The successor names the deleted one's signature; the newest is named by the signed head.
      expect((await verify()).first_broken, `deleting checkpoint ${index + 1} (${checkpoint.kind})`).toEqual({
        id: next?.id ?? null,
        seq: null,
        reason: 'checkpoint_missing',
      });
      await db().insertInto('audit_checkpoints').values(checkpoint).execute();
      expect((await verify()).valid).toBe(true);
    }
    await db().deleteFrom('audit_checkpoints').where('kind', '=', 'head').execute();
    expect((await verify()).first_broken).toEqual({ id: all[2]?.id, seq: null, reason: 'checkpoint_missing' });
  });

  it('detects an edit mid-chain re-hashed forward, with the head rewritten and the checkpoints deleted', async () => {
    await reviewerSetup();
    await db().updateTable('audit_events').set({ actor: 'someone-else' }).where('seq', '=', 3).execute();
    const end = await rehashFrom(3);
    expect((await verify()).first_broken).toMatchObject({ seq: 10, reason: 'checkpoint_mismatch' });
    // Without the pinning checkpoint, the signed head still names the old end of the chain.
    await db().deleteFrom('audit_checkpoints').where('kind', '=', 'head').execute();
    expect((await verify()).first_broken).toEqual({ id: null, seq: null, reason: 'checkpoint_missing' });
    // Rewriting the head to match needs the key.
    await db().updateTable('audit_chain_head').set({ hash: end }).where('id', '=', 'head').execute();
    expect((await verify()).first_broken).toEqual({ id: null, seq: 15, reason: 'head_signature_invalid' });
    await db().updateTable('audit_chain_head').set({ checkpoint_ordinal: 0, checkpoint_signature: null }).where('id', '=', 'head').execute();
    expect((await verify()).first_broken).toEqual({ id: null, seq: 15, reason: 'head_signature_invalid' });
    await db().updateTable('audit_chain_head').set({ signature: null }).where('id', '=', 'head').execute();
    expect((await verify()).first_broken).toEqual({ id: null, seq: 15, reason: 'head_unsigned' });
  });

  const acknowledgeThrough = (seq: number) =>
    acknowledgeUnverified(db(), {
      throughSeq: seq,
      reason: 'restored from backup',
      actor: 'cli',
      checkpointKey: CHECKPOINT_KEY,
      now: clock,
    });

  it('keeps recording over a head reset to name no checkpoint, and recovers once the mark is acknowledged', async () => {
    await reviewerSetup();
    await db().deleteFrom('audit_events').where('seq', '>', 12).execute();
    await db()
      .updateTable('audit_chain_head')
      .set({
        seq: 12,
        hash: (await rowAt(12)).hash,
        signature: null,
        checkpoint_ordinal: 0,
        checkpoint_signature: null,
      })
      .where('id', '=', 'head')
      .execute();
    // The head's own checkpoint fields are not believed: the mark follows the stored checkpoint
    // (no ordinal collision failing every append), and it is 'unverified', not a legacy takeover.
    await record(100, 100);
    const [first, mark] = await checkpoints();
    expect(mark).toMatchObject({ kind: 'unverified', ordinal: 2, seq: 12, prev_signature: first?.signature });
    expect((await verify()).first_broken).toEqual({
      id: mark?.id,
      seq: 12,
      reason: 'head_signature_invalid',
    });
    await acknowledgeThrough(12);
    expect(await verify()).toMatchObject({
      valid: true,
      last_seq: 14,
      acknowledged: [{ ordinal: 2, seq: 12 }],
    });
  });

  it('chains the mark onto the stored checkpoint when the head names it with another signature', async () => {
    await reviewerSetup();
    await db()
      .updateTable('audit_chain_head')
      .set({ checkpoint_signature: 'f'.repeat(64), signature: null })
      .where('id', '=', 'head')
      .execute();
    await record(100, 100);
    expect((await checkpoints()).map((c) => [c.ordinal, c.kind])).toEqual([
      [1, 'head'],
      [2, 'unverified'],
    ]);
    await acknowledgeThrough(15);
    expect((await verify()).valid).toBe(true);
  });

  it('keeps reporting deleted checkpoints when the untrusted head names a newer one than is stored', async () => {
    await reviewerSetup();
    await log.checkpoint();
    await record(16, 17);
    const newest = (await checkpoints()).at(-1);
    await db()
      .deleteFrom('audit_checkpoints')
      .where('id', '=', newest?.id ?? '')
      .execute();
    await db().updateTable('audit_chain_head').set({ signature: null }).where('id', '=', 'head').execute();
    await record(100, 100);
    expect((await verify()).first_broken).toMatchObject({ reason: 'checkpoint_missing' });
  });

  it('shows a full reset to an unsigned head as a legacy takeover, not as an untouched log', async () => {
    await reviewerSetup();
    await db().deleteFrom('audit_events').where('seq', '>', 12).execute();
    await db().deleteFrom('audit_checkpoints').execute();
    await db()
      .updateTable('audit_chain_head')
      .set({ seq: 12, hash: (await rowAt(12)).hash, signature: null, checkpoint_ordinal: 0, checkpoint_signature: null })
      .where('id', '=', 'head')
      .execute();
    expect((await verify()).first_broken).toEqual({ id: null, seq: 12, reason: 'head_unsigned' });
    await record(100, 100);
    // This is the documented limit: without an outside record of the head, a reset to the
    // pre-0010 state is only visible as a takeover point later than the real upgrade.
    expect(await verify()).toMatchObject({ valid: true, legacy_through_seq: 12 });
  });

  it('stays valid over many batched appends, from two instances, with checkpoints on every batch', async () => {
    const busy = createAuditLog({ storage, logger: pino({ level: 'silent' }), checkpointKey: CHECKPOINT_KEY, checkpointIntervalMs: 0, maxBatch: 100 });
    const second = openDatabase(storage.url, { poolSize: 5 });
    const other = createAuditLog({ storage: second, logger: pino({ level: 'silent' }), checkpointKey: CHECKPOINT_KEY, maxBatch: 250 });
    try {
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 1500; i += 1) {
        writes.push(busy.record(sampleEvent(i, { actor: 'a' })), other.record(sampleEvent(i, { actor: 'b' })));
        if (i % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      }
      await Promise.all(writes);
      await other.close();
      await busy.close();
    } finally {
      await second.close();
    }
    const report = await verifyChain(storage.db, { checkpointKey: CHECKPOINT_KEY });
    expect(report).toMatchObject({ valid: true, checked_events: 3000, last_seq: 3000, first_broken: null });
    const ordinals = (await checkpoints()).map((c) => Number(c.ordinal));
    expect(ordinals).toEqual(Array.from({ length: ordinals.length }, (_, i) => i + 1));
    expect(ordinals.length).toBeGreaterThan(10);
  });

  it('clips by code point and stores well-formed text, so such events verify', async () => {
    const emoji = 'a'.repeat(511) + '\u{1F600}';
    await log.record(sampleEvent(1, { entity_id: emoji, actor: `${'b'.repeat(511)}\u{1F600}tail`, details: { lone: 'x\uD800y', ['k\uDC00']: 1 } }));
    await log.record(sampleEvent(2, { user_agent: 'agent \uD83D', request_id: '\uDE00' }));
    const [first, second] = await db().selectFrom('audit_events').selectAll().orderBy('seq').execute();
    expect(first?.entity_id).toBe(emoji);
    expect(first?.actor).toBe(`${'b'.repeat(511)}\u{1F600}`);
    expect(second).toMatchObject({ user_agent: 'agent \uFFFD', request_id: '\uFFFD' });
    expect(await verify()).toMatchObject({ valid: true, checked_events: 2 });
  });
});

/** A log written before migration 0010, then upgraded. */
describeEachDatabase('audit log written before the head seal (migration 0010)', (dialect) => {
  it('reports the unsigned head until the first append, then verifies with the takeover point', async () => {
    const database = await createTestDatabase(dialect);
    const storage = openDatabase(database.url);
    const log = testAuditLog(storage);
    try {
      await migrateToLatest(storage, MIGRATIONS.filter((m) => m.name < '0010'));
      // What the code before 0010 wrote: events, an unsigned head and unchained v1 checkpoints.
      let prev = GENESIS_HASH;
      for (let seq = 1; seq <= 6; seq += 1) {
        const unhashed = { id: `old-${seq}`, seq, occurred_at: 1_700_000_000_000 + seq, action: 'user.updated', actor: 'old', entity_type: null, entity_id: null, outcome: 'success', ip: null, user_agent: null, request_id: null, details: null, prev_hash: prev };
        prev = hashEvent(unhashed);
        await storage.db.insertInto('audit_events').values({ ...unhashed, hash: prev }).execute();
        if (seq === 4) {
          const v1 = { id: 'old-checkpoint', seq, hash: prev, created_at: 1_700_000_000_100, kind: 'head' };
          await storage.db.insertInto('audit_checkpoints').values({ ...v1, signature: signCheckpoint(CHECKPOINT_KEY, v1) }).execute();
        }
      }
      await storage.db.updateTable('audit_chain_head').set({ seq: 6, hash: prev }).where('id', '=', 'head').execute();
      await migrateToLatest(storage);

      const verify = () => verifyChain(storage.db, { checkpointKey: CHECKPOINT_KEY });
      expect(await verify()).toMatchObject({ valid: false, checked_events: 6, first_broken: { id: null, seq: 6, reason: 'head_unsigned' } });
      await log.record(sampleEvent(7));
      expect(await verify()).toMatchObject({ valid: true, checked_events: 7, checked_checkpoints: 2, legacy_through_seq: 6 });
      // The takeover pins the old head, so rewriting old events (re-hashed forward) is still caught.
      await storage.db.updateTable('audit_events').set({ actor: 'forged' }).where('seq', '=', 5).execute();
      let link = (await storage.db.selectFrom('audit_events').select('hash').where('seq', '=', 4).executeTakeFirstOrThrow()).hash;
      for (const row of await storage.db.selectFrom('audit_events').selectAll().where('seq', '>=', 5).orderBy('seq').execute()) {
        const hash = hashEvent({ ...row, prev_hash: link });
        await storage.db.updateTable('audit_events').set({ prev_hash: link, hash }).where('id', '=', row.id).execute();
        link = hash;
      }
      expect((await verify()).first_broken).toMatchObject({ seq: 6, reason: 'checkpoint_mismatch' });
    } finally {
      await log.close();
      await storage.close();
      await database.cleanup();
    }
  });

  it('verifies a new, empty log with its unsigned genesis head, but not an emptied head over remaining rows', async () => {
    const storage = await createTestStorage(dialect);
    try {
      const verify = () => verifyChain(storage.db, { checkpointKey: CHECKPOINT_KEY });
      expect(await verify()).toMatchObject({ valid: true, checked_events: 0, last_seq: 0 });
      const log = testAuditLog(storage);
      await log.record(sampleEvent(1));
      await log.close();
      await storage.db
        .updateTable('audit_chain_head')
        .set({ seq: 0, hash: GENESIS_HASH, signature: null, checkpoint_ordinal: 0, checkpoint_signature: null })
        .where('id', '=', 'head')
        .execute();
      await storage.db.deleteFrom('audit_checkpoints').execute();
      expect((await verify()).first_broken).toEqual({ id: null, seq: 0, reason: 'head_unsigned' });
    } finally {
      await storage.close();
    }
  });
});
