import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { CHECKPOINT_KEY_PURPOSE } from '../../src/audit/audit-log-domain.js';
import { AuditPruneRefusedError, pruneEvents, type PruneRefusal } from '../../src/audit/audit-prune.js';
import type { AuditLog } from '../../src/audit/audit-recorder.js';
import { verifyChain } from '../../src/audit/audit-verify.js';
import { hashEvent } from '../../src/audit/canonical-form.js';
import { runCli } from '../../src/cli/main.js';
import { deriveKey } from '../../src/crypto/derive-key.js';
import type { Storage } from '../../src/storage/index.js';
import { createTestApp, TEST_SECRET_KEY, type TestApp } from '../helpers/app.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { CHECKPOINT_KEY, captureIo, sampleEvent, testAuditLog } from './helpers.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-03-01T00:00:00Z');
/** The routine retention run: `warden audit prune --before now-90d`. */
const BEFORE = NOW - 90 * DAY;

/** The white-box review's findings: a prune must never sign over (and delete) rows that do not verify. */
describeEachDatabase('audit prune verifies what it deletes', (dialect) => {
  let storage: Storage & { url: string };
  let log: AuditLog;
  let clock: number;

  beforeEach(async () => {
    storage = await createTestStorage(dialect);
    clock = NOW - 100 * DAY;
    log = testAuditLog(storage, { now: () => clock });
  });
  afterEach(async () => {
    await log.close().catch(() => undefined);
    await storage.close();
  });

  const db = () => storage.db;
  const verify = () => verifyChain(db(), { checkpointKey: CHECKPOINT_KEY, pageSize: 4 });
  const prune = () =>
    pruneEvents(db(), { before: BEFORE, actor: 'cli', checkpointKey: CHECKPOINT_KEY, now: NOW, pageSize: 3 });
  const seqs = async () =>
    (await db().selectFrom('audit_events').select('seq').orderBy('seq').execute()).map((r) => Number(r.seq));
  const rowAt = (seq: number) =>
    db().selectFrom('audit_events').selectAll().where('seq', '=', seq).executeTakeFirstOrThrow();
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  /**
   * Events 1..10 dated 100 days ago, 11..20 current. The first current batch comes long after
   * the last checkpoint, so it is checkpointed: the only checkpoint is a signed 'head' at seq 11.
   */
  const setup = async (): Promise<void> => {
    for (let i = 1; i <= 10; i += 1) await log.record(sampleEvent(i));
    clock = NOW;
    for (let i = 11; i <= 20; i += 1) await log.record(sampleEvent(i));
    const checkpoints = await db().selectFrom('audit_checkpoints').select(['kind', 'seq']).execute();
    expect(checkpoints.map((c) => [c.kind, Number(c.seq)])).toEqual([['head', 11]]);
    expect(await verify()).toMatchObject({ valid: true, last_seq: 20 });
  };

  /** An attacker with database write access and no key: rewrites events `from`..`to` so that their hashes chain again. */
  const rehash = async (from: number, to: number): Promise<string> => {
    let prev = (await rowAt(from - 1)).hash;
    for (const seq of range(from, to)) {
      const hash = hashEvent({ ...(await rowAt(seq)), prev_hash: prev });
      await db().updateTable('audit_events').set({ prev_hash: prev, hash }).where('seq', '=', seq).execute();
      prev = hash;
    }
    return prev;
  };

  /** Expects a refusal at `refusal`, with nothing deleted and the refusal itself recorded as the only new event. */
  const expectRefused = async (refusal: PruneRefusal): Promise<void> => {
    const before = await seqs();
    const error = await prune().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AuditPruneRefusedError);
    expect(error).toMatchObject({ code: 'audit_chain_broken', status: 409, ...refusal, fields: refusal });
    expect((error as Error).message).toContain(`seq ${refusal.seq} (${refusal.reason}`);
    const after = await seqs();
    const last = before.at(-1) ?? 0;
    expect(after).toEqual([...before, last + 1]);
    const event = await rowAt(last + 1);
    expect(event).toMatchObject({ action: 'audit.prune_refused', actor: 'cli', outcome: 'failure' });
    expect(JSON.parse(event.details ?? '')).toEqual({
      before: new Date(BEFORE).toISOString(),
      ...refusal,
      deleted: 0,
      through_seq: null,
    });
    const checkpoints = await db().selectFrom('audit_checkpoints').select('kind').execute();
    expect(checkpoints.map((c) => c.kind)).not.toContain('prune');
  };

  it('an honest prune deletes exactly the old events and the chain still verifies', async () => {
    await setup();
    expect(await prune()).toEqual({ deleted: 10, through_seq: 10 });
    expect(await seqs()).toEqual(range(11, 21));
    expect(await rowAt(21)).toMatchObject({ action: 'audit.pruned', outcome: 'success' });
    expect(await verify()).toMatchObject({ valid: true, first_seq: 11, last_seq: 21, checked_events: 11 });
    // Nothing older is left: the next run deletes nothing.
    expect(await prune()).toEqual({ deleted: 0, through_seq: null });
    expect((await verify()).valid).toBe(true);
  });

  it("the reviewer's reproduction: the newest row back-dated by an attacker is refused, nothing is deleted, and verify still reports it", async () => {
    await setup();
    await db().updateTable('audit_events').set({ occurred_at: 0 }).where('seq', '=', 20).execute();
    const tampered = { valid: false, first_broken: { seq: 20, reason: 'hash_mismatch' } };
    expect(await verify()).toMatchObject(tampered);
    await expectRefused({ seq: 20, reason: 'hash_mismatch' });
    expect(await verify()).toMatchObject(tampered);
    // It stays refused on every run until someone investigates.
    await expect(prune()).rejects.toThrow(AuditPruneRefusedError);
    expect((await seqs()).slice(0, 20)).toEqual(range(1, 20));
  });

  it('a newest row dated in the past (an instance with a wrong clock) does not pull the cut past the recent rows', async () => {
    for (let i = 1; i <= 10; i += 1) await log.record(sampleEvent(i));
    clock = NOW;
    for (let i = 11; i <= 19; i += 1) await log.record(sampleEvent(i));
    clock = 0;
    await log.record(sampleEvent(20));
    clock = NOW;
    expect(await verify()).toMatchObject({ valid: true, last_seq: 20 });
    expect(await prune()).toEqual({ deleted: 10, through_seq: 10 });
    expect(await seqs()).toEqual(range(11, 21));
    expect(await verify()).toMatchObject({ valid: true, first_seq: 11, last_seq: 21 });
  });

  it('a back-dated newest row whose hash and head were fixed up without the key: the log does not verify, so nothing is deleted', async () => {
    await setup();
    await db().updateTable('audit_events').set({ occurred_at: 0 }).where('seq', '=', 20).execute();
    const hash = await rehash(20, 20);
    await db().updateTable('audit_chain_head').set({ hash }).where('id', '=', 'head').execute();
    expect((await verify()).first_broken).toMatchObject({ seq: 20, reason: 'head_signature_invalid' });
    // The range to delete would verify up to its signed checkpoint, but a prune does not delete
    // while the log as a whole reports a break (the evidence would go with it).
    await expectRefused({ seq: 20, reason: 'head_signature_invalid' });
    expect((await verify()).first_broken).toMatchObject({ seq: 20, reason: 'head_signature_invalid' });
  });

  it('refuses while verification reports a break beyond the range (a head whose signature was removed, then appended to)', async () => {
    await setup();
    await db().updateTable('audit_chain_head').set({ checkpoint_signature: null }).where('id', '=', 'head').execute();
    await log.record(sampleEvent(99));
    await log.flush();
    const report = await verify();
    expect(report.valid).toBe(false);
    const before = await seqs();
    // A break at a checkpoint has no event seq; the refusal names the reason verification gives.
    await expect(prune()).rejects.toMatchObject({ code: 'audit_chain_broken', reason: report.first_broken?.reason, deleted: 0 });
    // Nothing deleted: every event is still there (the refusal's own event follows them).
    expect((await seqs()).slice(0, before.length)).toEqual(before);
  });

  it('refuses when a row below the cut was edited, and deletes nothing', async () => {
    await setup();
    await db().updateTable('audit_events').set({ details: '{"i":999}' }).where('seq', '=', 5).execute();
    await expectRefused({ seq: 5, reason: 'hash_mismatch' });
    expect(await verify()).toMatchObject({ valid: false, first_broken: { seq: 5, reason: 'hash_mismatch' } });
  });

  it('refuses when a row below the cut was edited and re-hashed forward through the cut (the next link shows it)', async () => {
    await setup();
    await db().updateTable('audit_events').set({ details: '{"i":999}' }).where('seq', '=', 5).execute();
    await rehash(5, 10);
    await expectRefused({ seq: 11, reason: 'prev_hash_mismatch' });
    expect((await verify()).first_broken).toMatchObject({ seq: 11, reason: 'prev_hash_mismatch' });
  });

  it('refuses when the edit was re-hashed up to a rewritten head (the signed checkpoint after the cut shows it)', async () => {
    await setup();
    await db().updateTable('audit_events').set({ details: '{"i":999}' }).where('seq', '=', 5).execute();
    const hash = await rehash(5, 20);
    await db().updateTable('audit_chain_head').set({ hash }).where('id', '=', 'head').execute();
    await expectRefused({ seq: 11, reason: 'checkpoint_mismatch' });
  });

  it("refuses while an unacknowledged 'unverified' mark lies in the range (the rows before it may have been written without the key)", async () => {
    for (let i = 1; i <= 10; i += 1) await log.record(sampleEvent(i));
    // Edited and re-hashed up to a rewritten head, before any checkpoint: the next append pins that head as 'unverified'.
    await db().updateTable('audit_events').set({ details: '{"i":999}' }).where('seq', '=', 5).execute();
    const hash = await rehash(5, 10);
    await db().updateTable('audit_chain_head').set({ hash }).where('id', '=', 'head').execute();
    clock = NOW;
    for (let i = 11; i <= 20; i += 1) await log.record(sampleEvent(i));
    const kinds = await db()
      .selectFrom('audit_checkpoints')
      .select(['kind', 'seq'])
      .orderBy('ordinal')
      .execute();
    expect(kinds.map((c) => [c.kind, Number(c.seq)])).toEqual([
      ['unverified', 10],
      ['head', 11],
    ]);
    await expectRefused({ seq: 10, reason: 'head_signature_invalid' });
    expect((await verify()).first_broken).toMatchObject({ seq: 10, reason: 'head_signature_invalid' });
  });

  it('refuses when a row below the cut was deleted', async () => {
    await setup();
    await db().deleteFrom('audit_events').where('seq', '=', 7).execute();
    await expectRefused({ seq: 7, reason: 'missing_event' });
  });

  it('refuses a forged checkpoint in the range', async () => {
    await setup();
    const real = await db().selectFrom('audit_checkpoints').selectAll().executeTakeFirstOrThrow();
    await db()
      .updateTable('audit_checkpoints')
      .set({ signature: 'f'.repeat(64) })
      .where('id', '=', real.id)
      .execute();
    await expectRefused({ seq: 11, reason: 'checkpoint_signature_invalid' });
  });
});

describeEachDatabase('warden audit prune refuses a range that does not verify', (dialect) => {
  let testApp: TestApp;
  beforeEach(async () => {
    testApp = await createTestApp({ dialect });
    vi.stubEnv('WARDEN_ENV', 'development');
    vi.stubEnv('WARDEN_SECRET_KEY', TEST_SECRET_KEY);
    vi.stubEnv('WARDEN_DATABASE_URL', testApp.settings.databaseUrl);
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await testApp.close();
  });

  it('names the seq and the reason, exits 1, prints no event content and deletes nothing', async () => {
    const db = testApp.context.storage.db;
    for (const id of ['k1', 'k2', 'k3']) {
      await testApp.context.audit.record({
        action: 'apikey.revoked',
        actor: 'admin',
        entity_type: 'api_key',
        entity_id: id,
        outcome: 'success',
      });
    }
    const target = await db
      .selectFrom('audit_events')
      .select('seq')
      .where('entity_id', '=', 'k2')
      .executeTakeFirstOrThrow();
    const seq = Number(target.seq);
    const MARKER = 'attacker-edited-content-0123';
    await db
      .updateTable('audit_events')
      .set({ details: JSON.stringify({ note: MARKER }), actor: MARKER })
      .where('seq', '=', seq)
      .execute();
    const count = async () => (await db.selectFrom('audit_events').select('seq').execute()).length;
    const rows = await count();

    const io = captureIo();
    expect(await runCli(['node', 'warden', 'audit', 'prune', '--before', '2999-01-01'], io)).toBe(1);
    const printed = [...io.lines, ...io.errors].join('\n');
    expect(printed).toContain(`seq ${seq} (hash_mismatch`);
    expect(printed).toContain('nothing was deleted');
    expect(printed).not.toContain(MARKER);
    // Only the refusal was added.
    expect(await count()).toBe(rows + 1);
    const report = await verifyChain(db, {
      checkpointKey: deriveKey(TEST_SECRET_KEY, CHECKPOINT_KEY_PURPOSE),
    });
    expect(report.first_broken).toMatchObject({ seq, reason: 'hash_mismatch' });
  });
});
