import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { acknowledgeUnverified } from '../../src/audit/audit-acknowledge.js';
import { CHECKPOINT_KEY_PURPOSE } from '../../src/audit/audit-log-domain.js';
import { pruneEvents } from '../../src/audit/audit-prune.js';
import { verifyChain } from '../../src/audit/audit-verify.js';
import { hashEvent } from '../../src/audit/canonical-form.js';
import { runCli } from '../../src/cli/main.js';
import { deriveKey } from '../../src/crypto/derive-key.js';
import type { DatabaseSchema } from '../../src/storage/index.js';
import { createTestApp, TEST_SECRET_KEY, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { captureIo } from './helpers.js';

const checkpointKey = deriveKey(TEST_SECRET_KEY, CHECKPOINT_KEY_PURPOSE);
const REASON = 'rolling upgrade to 0010: old pods ran until 14:05, their events checked';

/**
 * What an instance running code from before migration 0010 does when it appends: it chains its
 * events correctly after the head and moves the head's seq and hash, but leaves the signature
 * columns, which it does not know, as they were.
 */
async function appendAsOldCode(db: Kysely<DatabaseSchema>, count: number): Promise<void> {
  const head = await db.selectFrom('audit_chain_head').select(['seq', 'hash']).where('id', '=', 'head').executeTakeFirstOrThrow();
  let seq = Number(head.seq);
  let prev = head.hash;
  for (let i = 0; i < count; i += 1) {
    seq += 1;
    const unhashed = {
      id: randomUUID(),
      seq,
      occurred_at: Date.now(),
      action: 'auth.login.succeeded',
      actor: 'old-pod',
      entity_type: null,
      entity_id: null,
      outcome: 'success',
      ip: null,
      user_agent: null,
      request_id: null,
      details: null,
      prev_hash: prev,
    };
    prev = hashEvent(unhashed);
    await db.insertInto('audit_events').values({ ...unhashed, hash: prev }).execute();
  }
  await db.updateTable('audit_chain_head').set({ seq, hash: prev, updated_at: Date.now() }).where('id', '=', 'head').execute();
}

describeEachDatabase('audit: acknowledging unverified marks after a rolling upgrade', (dialect) => {
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

  const db = () => testApp.context.storage.db;
  const verify = () => verifyChain(db(), { checkpointKey, pageSize: 4 });
  const record = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i += 1) {
      await testApp.context.audit.record({ action: 'role.updated', actor: 'admin', entity_type: 'role', entity_id: `r${i}`, outcome: 'success' });
    }
  };
  const checkpoints = () => db().selectFrom('audit_checkpoints').selectAll().orderBy('ordinal').execute();
  const warden = async (...args: string[]) => {
    const io = captureIo();
    const code = await runCli(['node', 'warden', 'audit', ...args], io);
    return { code, out: io.lines.join('\n'), err: io.errors.join('\n') };
  };
  const acknowledge = (throughSeq: number, reason = REASON) => warden('acknowledge-unverified', '--through-seq', String(throughSeq), '--reason', reason);

  /** New code (seq 1..3), an old instance (4..5), then new code again (6): the mark pins seq 5. */
  const rollingUpgrade = async (): Promise<void> => {
    await record(3);
    await appendAsOldCode(db(), 2);
    await record(1);
  };

  it('fails verification after a rolling upgrade until acknowledged through the CLI, then lists the acknowledged segment', async () => {
    await rollingUpgrade();
    const [mark] = await checkpoints();
    expect(mark).toMatchObject({ kind: 'unverified', seq: 5, ordinal: 1 });
    expect(await verify()).toMatchObject({ valid: false, acknowledged: [], first_broken: { id: mark?.id, seq: 5, reason: 'head_signature_invalid' } });
    expect((await warden('verify')).code).toBe(1);

    const dryRun = await warden('acknowledge-unverified', '--through-seq', '5', '--reason', REASON, '--dry-run');
    expect(dryRun.code).toBe(0);
    expect(dryRun.out).toMatch(/checkpoint 1: head at seq 5 found unsigned on \d{4}-/);
    expect(dryRun.out).toMatch(/dry run: nothing was written/);
    expect(await checkpoints()).toHaveLength(1);

    const acknowledged = await acknowledge(5);
    expect(acknowledged).toMatchObject({ code: 0, err: '' });
    expect(acknowledged.out).toMatch(/checkpoint 1: head at seq 5/);
    expect(acknowledged.out).toMatch(/acknowledged 1 unverified marks in checkpoint 2 \(audit event seq 7\)/);

    // A signed, chained checkpoint pinning the mark's position, and an audit event naming it.
    const acknowledgement = (await checkpoints())[1];
    expect(acknowledgement).toMatchObject({ kind: 'acknowledged', ordinal: 2, seq: 5, hash: mark?.hash, prev_signature: mark?.signature });
    const event = await db().selectFrom('audit_events').selectAll().where('action', '=', 'audit.unverified_acknowledged').executeTakeFirstOrThrow();
    expect(event).toMatchObject({ seq: 7, actor: 'cli', entity_type: 'audit_checkpoint', entity_id: acknowledgement?.id, outcome: 'success' });
    expect(JSON.parse(event.details ?? '{}')).toMatchObject({
      checkpoint_ordinal: 2,
      marks: 1,
      first_ordinal: 1,
      last_ordinal: 1,
      from_seq: 5,
      through_seq: 5,
      reason: REASON,
    });

    const report = await verify();
    expect(report).toMatchObject({ valid: true, first_broken: null, last_seq: 7, checked_checkpoints: 2 });
    expect(report.acknowledged).toEqual([
      { ordinal: 1, seq: 5, acknowledgement_ordinal: 2, acknowledged_at: new Date(Number(acknowledgement?.created_at)).toISOString(), reason: REASON },
    ]);
    const human = await warden('verify');
    expect(human.code).toBe(0);
    expect(human.out.split('\n')[1]).toBe(`note: unsigned head at seq 5 (checkpoint 1) acknowledged on ${report.acknowledged[0]?.acknowledged_at} (checkpoint 2): ${JSON.stringify(REASON)}`);
    const json = await warden('verify', '--json');
    expect(JSON.parse(json.out)).toMatchObject({ valid: true, acknowledged: [{ ordinal: 1, seq: 5, reason: REASON }] });

    // The service carries on; the acknowledgement holds, and there is nothing left to acknowledge.
    await record(3);
    expect(await verify()).toMatchObject({ valid: true, last_seq: 10 });
    const again = await acknowledge(10);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/no unacknowledged 'unverified' checkpoint at or below seq 10; nothing was written/);
  });

  it('detects an acknowledgement that was altered or removed', async () => {
    await rollingUpgrade();
    expect((await acknowledge(5)).code).toBe(0);
    expect((await verify()).valid).toBe(true);
    const original = (await checkpoints())[1];
    if (original === undefined) throw new Error('no acknowledgement');
    const tampered = async (change: Partial<typeof original>) => {
      await db().updateTable('audit_checkpoints').set(change).where('id', '=', original.id).execute();
      const report = await verify();
      await db().updateTable('audit_checkpoints').set(original).where('id', '=', original.id).execute();
      return report;
    };
    const forged = 'f'.repeat(64);
    expect((await tampered({ signature: forged })).first_broken).toEqual({ id: original.id, seq: 5, reason: 'checkpoint_signature_invalid' });
    // Stretching it over later marks, or turning it into another kind, breaks its signature too.
    expect((await tampered({ seq: 100 })).first_broken).toMatchObject({ id: original.id, reason: 'checkpoint_signature_invalid' });
    expect((await tampered({ kind: 'head' })).first_broken).toMatchObject({ id: original.id, reason: 'checkpoint_signature_invalid' });
    expect((await verify()).valid).toBe(true);

    await db().deleteFrom('audit_checkpoints').where('id', '=', original.id).execute();
    expect(await verify()).toMatchObject({ valid: false, first_broken: { seq: 5, reason: 'head_signature_invalid' } });
    expect((await warden('verify')).code).toBe(1);
  });

  it('refuses, writing nothing, when there is no unverified mark to acknowledge', async () => {
    await record(4);
    const before = await db().selectFrom('audit_chain_head').selectAll().executeTakeFirstOrThrow();
    const refused = await acknowledge(4);
    expect(refused.code).toBe(1);
    expect(refused.err).toBe("warden: no unacknowledged 'unverified' checkpoint at or below seq 4; nothing was written");
    expect(await db().selectFrom('audit_chain_head').selectAll().executeTakeFirstOrThrow()).toEqual(before);
    expect(await checkpoints()).toHaveLength(0);
    // The library refuses on its own too, with a typed error.
    await expect(acknowledgeUnverified(db(), { throughSeq: 4, reason: REASON, actor: 'cli', checkpointKey, now: Date.now() })).rejects.toMatchObject({
      code: 'conflict',
    });
    // A mark above the requested seq is not covered, and the message says so.
    await appendAsOldCode(db(), 1);
    await record(1);
    const below = await acknowledge(4);
    expect(below.code).toBe(1);
    expect(below.err).toMatch(/at or below seq 4 \(1 above it, which this would not cover\)/);
    expect((await verify()).first_broken).toMatchObject({ seq: 5, reason: 'head_signature_invalid' });
  });

  it('covers only the marks at or below the given seq', async () => {
    await rollingUpgrade();
    await appendAsOldCode(db(), 2);
    await record(1);
    const marks = (await checkpoints()).filter((c) => c.kind === 'unverified');
    expect(marks.map((c) => [c.ordinal, c.seq])).toEqual([
      [1, 5],
      [2, 8],
    ]);
    const partial = await acknowledge(7);
    expect(partial.code).toBe(0);
    expect(partial.out).toMatch(/note: 1 unverified marks above seq 7 stay unacknowledged/);
    expect(await verify()).toMatchObject({ valid: false, acknowledged: [{ ordinal: 1, seq: 5 }], first_broken: { id: marks[1]?.id, seq: 8, reason: 'head_signature_invalid' } });

    expect((await acknowledge(8, 'second wave of the same rollout')).code).toBe(0);
    const report = await verify();
    expect(report.valid).toBe(true);
    expect(report.acknowledged.map((a) => [a.ordinal, a.seq, a.acknowledgement_ordinal, a.reason])).toEqual([
      [1, 5, 3, REASON],
      [2, 8, 4, 'second wave of the same rollout'],
    ]);
  });

  /** Deletes every event after `seq` and points the head row there, as someone without the key can. */
  const cutTo = async (seq: number): Promise<void> => {
    const last = await db().selectFrom('audit_events').select('hash').where('seq', '=', seq).executeTakeFirstOrThrow();
    await db().deleteFrom('audit_events').where('seq', '>', seq).execute();
    await db().updateTable('audit_chain_head').set({ seq, hash: last.hash }).where('id', '=', 'head').execute();
  };

  it('still detects a tail cut made after the acknowledgement', async () => {
    await rollingUpgrade();
    expect((await acknowledge(5)).code).toBe(0);
    await record(4);
    expect(await verify()).toMatchObject({ valid: true, last_seq: 11 });
    await cutTo(9);
    expect((await verify()).first_broken).toEqual({ id: null, seq: 9, reason: 'head_signature_invalid' });
    await record(1);
    const mark = (await checkpoints()).at(-1);
    expect(mark).toMatchObject({ kind: 'unverified', ordinal: 3, seq: 9 });
    expect(await verify()).toMatchObject({ valid: false, acknowledged: [{ ordinal: 1 }], first_broken: { id: mark?.id, seq: 9, reason: 'head_signature_invalid' } });
  });

  it('does not let an acknowledgement cover a mark written after it at the same seq', async () => {
    await rollingUpgrade();
    expect((await acknowledge(5)).code).toBe(0);
    await record(2);
    // Back to exactly the acknowledged position, dropping the acknowledgement's own event: every
    // checkpoint still agrees with the rows, and the new mark is at the acknowledged seq.
    await cutTo(5);
    await record(1);
    const mark = (await checkpoints()).at(-1);
    expect(mark).toMatchObject({ kind: 'unverified', ordinal: 3, seq: 5 });
    expect(await verify()).toMatchObject({ valid: false, acknowledged: [{ ordinal: 1 }], first_broken: { id: mark?.id, seq: 5, reason: 'head_signature_invalid' } });
  });

  it('refuses while the head row itself is unsigned (an older instance is still writing)', async () => {
    await rollingUpgrade();
    await appendAsOldCode(db(), 1);
    const refused = await acknowledge(5);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/head row is not signed right now: an instance running code older than migration 0010 may still be writing/);
    expect((await checkpoints()).map((c) => c.kind)).toEqual(['unverified']);
  });

  it('refuses when the marks changed since they were listed, and rejects an unusable reason', async () => {
    await rollingUpgrade();
    const options = { throughSeq: 5, reason: REASON, actor: 'cli', checkpointKey, now: Date.now() };
    await expect(acknowledgeUnverified(db(), { ...options, expectedOrdinals: [1, 3] })).rejects.toMatchObject({ code: 'conflict' });
    await expect(acknowledgeUnverified(db(), { ...options, reason: '  ' })).rejects.toMatchObject({ code: 'validation_failed' });
    const multiline = await acknowledge(5, 'first line\naudit chain valid: everything');
    expect(multiline.code).toBe(2);
    expect(multiline.err).toMatch(/reason must be 1 to 500 characters on one line/);
    expect((await warden('acknowledge-unverified', '--through-seq', 'five', '--reason', REASON)).code).toBe(2);
    expect(await checkpoints()).toHaveLength(1);
  });

  it('refuses to acknowledge a mark whose signature does not verify', async () => {
    await rollingUpgrade();
    const [mark] = await checkpoints();
    await db().updateTable('audit_checkpoints').set({ created_at: Number(mark?.created_at) + 1 }).where('id', '=', mark?.id ?? '').execute();
    const refused = await acknowledge(5);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/checkpoint 1 does not carry a valid signature; run `warden audit verify`/i);
    expect(await checkpoints()).toHaveLength(1);
  });

  it('does not take a forged acknowledgement for a real one', async () => {
    await rollingUpgrade();
    const [mark] = await checkpoints();
    if (mark === undefined) throw new Error('no mark');
    // Without the key, a row claiming to acknowledge the mark (its signature cannot be right).
    const fake = { ...mark, id: randomUUID(), kind: 'acknowledged', ordinal: 2, prev_signature: mark.signature, signature: 'f'.repeat(64) };
    await db().insertInto('audit_checkpoints').values(fake).execute();
    expect((await verify()).first_broken).toMatchObject({ id: fake.id, reason: 'checkpoint_signature_invalid' });
    const refused = await acknowledge(5);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/checkpoint 2 does not carry a valid signature/i);
    await expect(acknowledgeUnverified(db(), { throughSeq: 5, reason: REASON, actor: 'cli', checkpointKey, now: Date.now() })).rejects.toThrow(
      /Checkpoint 2 does not carry a valid signature/,
    );
  });

  it('keeps the acknowledgement after its audit event is pruned (the reason is then unknown)', async () => {
    await rollingUpgrade();
    expect((await acknowledge(5)).code).toBe(0);
    await record(2);
    const now = Date.now() + 60_000;
    await pruneEvents(db(), { before: now, actor: 'cli', checkpointKey, now });
    const report = await verify();
    expect(report).toMatchObject({ valid: true, first_seq: 10, last_seq: 10 });
    expect(report.acknowledged).toEqual([expect.objectContaining({ ordinal: 1, seq: 5, reason: null })]);
    expect((await warden('verify')).out).toMatch(/acknowledged on .*: \(reason not available: its event was pruned or not reached\)/);
  });
});
