import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { appendEvents } from '../../src/audit/audit-chain.js';
import { AuditPruneRefusedError, pruneEvents, type PruneOptions, type PruneResult } from '../../src/audit/audit-prune.js';
import type { AuditLog } from '../../src/audit/audit-recorder.js';
import { verifyChain } from '../../src/audit/audit-verify.js';
import { openDatabase, type Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { CHECKPOINT_KEY, datedEvent, sampleEvent, testAuditLog } from './helpers.js';

const NOW = Date.parse('2026-03-01T00:00:00Z');
const OLD = NOW - 100 * 86_400_000;
const BEFORE = NOW - 90 * 86_400_000;

/** An event row as the recorder would prepare it, dated `at`. */

/** Appends `count` events dated `at` in batches of `batch`, each batch ending in a signed 'head' checkpoint. */
async function appendDated(storage: Storage, count: number, at: number, batch: number): Promise<void> {
  for (let done = 0; done < count; done += batch) {
    const events = Array.from({ length: Math.min(batch, count - done) }, (_, i) => datedEvent(at + done + i, done + i));
    await appendEvents(storage.db, events, { now: NOW, key: CHECKPOINT_KEY, checkpoint: true });
  }
}

describeEachDatabase('audit prune in chunks', (dialect) => {
  let storage: Storage & { url: string };

  beforeEach(async () => {
    storage = await createTestStorage(dialect);
  });
  afterEach(async () => {
    await storage.close();
  });

  const db = () => storage.db;
  const verify = () => verifyChain(db(), { checkpointKey: CHECKPOINT_KEY, pageSize: 7 });
  const prune = (options: Partial<PruneOptions> = {}) =>
    pruneEvents(db(), { before: BEFORE, actor: 'cli', checkpointKey: CHECKPOINT_KEY, now: NOW, pageSize: 4, chunkSize: 10, ...options });
  const seqs = async () =>
    (await db().selectFrom('audit_events').select('seq').orderBy('seq').execute()).map((r) => Number(r.seq));
  const checkpoints = async () =>
    (await db().selectFrom('audit_checkpoints').select(['kind', 'seq']).orderBy('ordinal').execute()).map((c) => [c.kind, Number(c.seq)]);
  const eventsOf = (action: string) =>
    db().selectFrom('audit_events').selectAll().where('action', '=', action).orderBy('seq').execute();
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  /** 25 old events then 5 recent ones, with a signed checkpoint every 5 events. */
  const setup = async (): Promise<void> => {
    await appendDated(storage, 25, OLD, 5);
    await appendDated(storage, 5, NOW, 5);
    expect(await verify()).toMatchObject({ valid: true, last_seq: 30 });
  };

  it('deletes in chunks of chunkSize, the chain verifies after every chunk, and the totals and the one audit.pruned event cover them all', async () => {
    await setup();
    const seen: Array<PruneResult & { valid: boolean; first_seq: number }> = [];
    const result = await prune({
      onChunk: async (progress) => {
        const report = await verify();
        seen.push({ ...progress, valid: report.valid, first_seq: report.first_seq });
      },
    });
    expect(result).toEqual({ deleted: 25, through_seq: 25 });
    expect(seen).toEqual([
      { deleted: 10, through_seq: 10, valid: true, first_seq: 11 },
      { deleted: 20, through_seq: 20, valid: true, first_seq: 21 },
    ]);
    expect(await seqs()).toEqual(range(26, 31));
    const pruned = await eventsOf('audit.pruned');
    expect(pruned).toHaveLength(1);
    expect(JSON.parse(pruned[0]?.details ?? '')).toEqual({ before: new Date(BEFORE).toISOString(), deleted: 25, through_seq: 25 });
    expect((await checkpoints()).slice(-4)).toEqual([
      ['prune', 10],
      ['prune', 20],
      ['prune', 25],
      ['head', 31],
    ]);
    expect(await verify()).toMatchObject({ valid: true, first_seq: 26, last_seq: 31 });
  });

  it('a crash between chunks leaves a chain that verifies, and the next run deletes the rest', async () => {
    await setup();
    const crash = new Error('killed between chunks');
    await expect(
      prune({
        onChunk: () => {
          throw crash;
        },
      }),
    ).rejects.toBe(crash);
    expect(await seqs()).toEqual(range(11, 30));
    expect(await verify()).toMatchObject({ valid: true, first_seq: 11, last_seq: 30 });
    // The interrupted run recorded no event; the deleted chunk is on record as its signed 'prune' checkpoint.
    expect(await eventsOf('audit.pruned')).toEqual([]);
    expect((await checkpoints()).at(-1)).toEqual(['prune', 10]);

    expect(await prune()).toEqual({ deleted: 15, through_seq: 25 });
    expect(await verify()).toMatchObject({ valid: true, first_seq: 26, last_seq: 31 });
  });

  it('a log that does not verify is refused before anything is deleted', async () => {
    await setup();
    await db().updateTable('audit_events').set({ details: '{"i":999}' }).where('seq', '=', 25).execute();
    await expect(prune()).rejects.toMatchObject({ code: 'audit_chain_broken', seq: 25, reason: 'hash_mismatch', deleted: 0, through_seq: null });
    expect(await seqs()).toEqual(range(1, 31));
  });

  it('an event tampered with during the prune refuses at its chunk; the chunks before stay deleted and the chain still verifies up to it', async () => {
    await setup();
    const original = await db().selectFrom('audit_events').selectAll().where('seq', '=', 25).executeTakeFirstOrThrow();
    // Between the second and the third chunk, as a writer racing the prune would.
    const tamper = async (progress: { deleted: number }) => {
      if (progress.deleted === 20) await db().updateTable('audit_events').set({ details: '{"i":999}' }).where('seq', '=', 25).execute();
    };

    const error = await prune({ onChunk: tamper }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AuditPruneRefusedError);
    expect(error).toMatchObject({
      code: 'audit_chain_broken',
      seq: 25,
      reason: 'hash_mismatch',
      deleted: 20,
      through_seq: 20,
      fields: { seq: 25, reason: 'hash_mismatch', deleted: 20, through_seq: 20 },
    });
    expect((error as Error).message).toContain('seq 25 (hash_mismatch');
    expect((error as Error).message).toContain('already deleted 20 events through seq 20');
    expect(await seqs()).toEqual(range(21, 31));
    const [refused] = await eventsOf('audit.prune_refused');
    expect(refused).toMatchObject({ seq: 31, outcome: 'failure', actor: 'cli' });
    expect(JSON.parse(refused?.details ?? '')).toEqual({
      before: new Date(BEFORE).toISOString(),
      seq: 25,
      reason: 'hash_mismatch',
      deleted: 20,
      through_seq: 20,
    });
    expect(await eventsOf('audit.pruned')).toEqual([]);
    // The prune introduced no break of its own: verification starts after chunk 2 and finds only the edit.
    expect(await verify()).toMatchObject({ valid: false, first_seq: 21, first_broken: { seq: 25, reason: 'hash_mismatch' } });

    // Once the row is put back, the chain verifies and a new run finishes the job.
    await db().updateTable('audit_events').set({ details: original.details }).where('seq', '=', 25).execute();
    expect(await verify()).toMatchObject({ valid: true, first_seq: 21, last_seq: 31 });
    expect(await prune()).toEqual({ deleted: 5, through_seq: 25 });
    expect(await verify()).toMatchObject({ valid: true, first_seq: 26, last_seq: 32 });
  });

  it('refuses a back-dated row above the cut before the first chunk deletes anything', async () => {
    await setup();
    await db().updateTable('audit_events').set({ occurred_at: 0 }).where('seq', '=', 30).execute();
    await expect(prune()).rejects.toMatchObject({ seq: 30, reason: 'hash_mismatch', deleted: 0, through_seq: null });
    expect((await seqs()).slice(0, 30)).toEqual(range(1, 30));
  });

  it('keeps the events appended between chunks, even with a cut date in the future', async () => {
    await setup();
    const far = NOW + 365 * 86_400_000;
    const result = await prune({
      before: far,
      onChunk: async () => {
        await appendEvents(db(), [datedEvent(OLD, 100), datedEvent(NOW, 101)], { now: NOW, key: CHECKPOINT_KEY });
      },
    });
    // The cut was fixed at the head the first chunk saw (30): 3 chunks, 2 interleaved appends of 2 events.
    expect(result).toEqual({ deleted: 30, through_seq: 30 });
    expect(await seqs()).toEqual(range(31, 35));
    expect(await verify()).toMatchObject({ valid: true, first_seq: 31, last_seq: 35 });
  });

  it('rejects a chunk size that is not a positive integer', async () => {
    await expect(prune({ chunkSize: 0 })).rejects.toThrow(TypeError);
    await expect(prune({ chunkSize: 2.5 })).rejects.toThrow(TypeError);
  });
});

/**
 * The review's finding, made a test: a prune used to verify and delete its whole range in one
 * transaction holding the chain-head lock, and every append (which starts by locking that row)
 * waited behind it until the database cut it off (statement_timeout), so every audited request
 * answered 503 for as long as the prune ran. Here the service's connection has a short timeout
 * and the range is large enough that the old single transaction held the lock far longer.
 *
 * PostgreSQL only: both SQLite drivers are synchronous, so a second connection waiting for the
 * write lock in the same process blocks the event loop, and with it the prune it waits for.
 */
(inject('postgresAvailable') ? describe : describe.skip)('recording continues while a large prune runs [postgres]', () => {
  const SERVICE_TIMEOUT_MS = 250;
  const N = 60_000;
  let storage: Storage & { url: string };
  let service: Storage;
  let log: AuditLog;

  beforeEach(async () => {
    storage = await createTestStorage('postgres');
    service = openDatabase(storage.url, { statementTimeoutMs: SERVICE_TIMEOUT_MS });
    log = testAuditLog(service);
  });
  afterEach(async () => {
    await log.close().catch(() => undefined);
    await service.close();
    await storage.close();
  });

  it('every event recorded during the prune commits instead of timing out behind it', async () => {
    await appendDated(storage, N, 1_000, 1_000);
    const prune = pruneEvents(storage.db, { before: 10_000_000, actor: 'cli', checkpointKey: CHECKPOINT_KEY, now: Date.now(), chunkSize: 1_000 });
    let finished = false;
    const pruned = prune.finally(() => {
      finished = true;
    });
    const outcomes: Array<{ recorded: string; waited: number }> = [];
    for (let i = 0; !finished || outcomes.length === 0; i += 1) {
      const started = Date.now();
      const recorded = await log.record(sampleEvent(i, { action: 'auth.login.succeeded' })).then(
        () => 'committed',
        (error: { code?: string }) => error.code ?? 'error',
      );
      outcomes.push({ recorded, waited: Date.now() - started });
      if (recorded !== 'committed') break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const result = await pruned;
    expect(result).toEqual({ deleted: N, through_seq: N });
    // Before chunking: the first one was refused with audit_unavailable after the timeout.
    expect(outcomes.filter((o) => o.recorded !== 'committed')).toEqual([]);
    expect(outcomes.length).toBeGreaterThan(1);
    expect(await verifyChain(storage.db, { checkpointKey: CHECKPOINT_KEY })).toMatchObject({ valid: true, first_seq: N + 1 });
  }, 60_000);
});
