import { afterEach, beforeEach, expect, it } from 'vitest';
import { pruneEvents } from '../../src/audit/audit-prune.js';
import { exportEvents, queryEvents } from '../../src/audit/audit-query.js';
import { decodeSequenceCursor } from '../../src/storage/keyset-cursor.js';
import type { AuditLog } from '../../src/audit/audit-recorder.js';
import { verifyChain } from '../../src/audit/audit-verify.js';
import type { Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { CHECKPOINT_KEY, sampleEvent, testAuditLog } from './helpers.js';

const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';

describeEachDatabase('audit log: redaction, query, prune, sampling', (dialect) => {
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

  it('strips passwords, tokens, keys and secrets passed in details, however they are nested', async () => {
    await log.record({
      action: 'user.password_changed',
      actor: 'user-1',
      outcome: 'success',
      details: {
        password: 'hunter2-Correct-Horse',
        new_password: 'Battery-Staple-99',
        nested: { refresh_token: 'rt_abcdefghijklmnop', list: [{ client_secret: 'cs_zyxwvuts' }], key: 'wdn_live_abcdefghijklmnopqrstuvwxyz012345' },
        signing_key: 'MC4CAQAwBQYDK2VwBCIEIA',
        note: `header was Bearer ${JWT}`,
        kept: 'role changed',
      },
    });
    const row = await storage.db.selectFrom('audit_events').select('details').executeTakeFirstOrThrow();
    const stored = row.details ?? '';
    for (const secret of ['hunter2', 'Battery-Staple', 'rt_abcdefghijklmnop', 'cs_zyxwvuts', 'wdn_live_abcdefghijklmnopqrstuvwxyz012345', 'MC4CAQAwBQYDK2VwBCIEIA', JWT]) {
      expect(stored).not.toContain(secret);
    }
    expect(JSON.parse(stored)).toMatchObject({ kept: 'role changed', password: expect.stringContaining('REDACTED') });
    expect((await verifyChain(storage.db, { checkpointKey: CHECKPOINT_KEY })).valid).toBe(true);
  });

  it('filters by action, actor, entity, outcome and time, newest first with cursor pages', async () => {
    for (let i = 0; i < 12; i += 1) {
      clock += 60_000;
      await log.record(sampleEvent(i, { outcome: i % 4 === 0 ? 'failure' : 'success', action: i % 2 === 0 ? 'user.updated' : 'apikey.created' }));
    }
    const all: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await queryEvents(storage.db, {}, cursor === undefined ? { limit: 5 } : { limit: 5, cursor });
      all.push(...page.data.map((e) => e.seq));
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
    expect(all).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);

    const failures = await queryEvents(storage.db, { outcome: 'failure', action: 'user.updated' }, { limit: 50 });
    expect(failures.data.map((e) => e.entity_id)).toEqual(['u8', 'u4', 'u0']);
    const byActor = await queryEvents(storage.db, { actor: 'user-1', entity_type: 'user', entity_id: 'u4' }, { limit: 50 });
    expect(byActor.data).toHaveLength(1);
    expect(byActor.data[0]).toMatchObject({ entity_id: 'u4', details: { i: 4 }, occurred_at: new Date(Date.parse('2026-01-01T00:05:00Z')).toISOString() });
    const window = await queryEvents(storage.db, { since: Date.parse('2026-01-01T00:03:00Z'), until: Date.parse('2026-01-01T00:06:00Z') }, { limit: 50 });
    expect(window.data.map((e) => e.seq)).toEqual([5, 4, 3]);
    expect(() => decodeSequenceCursor('s', 'bm9wZQ')).toThrow(/cursor/);

    const exported: number[] = [];
    for await (const event of exportEvents(storage.db, { action: 'apikey.created' }, 2)) exported.push(event.seq);
    expect(exported).toEqual([2, 4, 6, 8, 10, 12]);
  });

  it('prunes old events with a signed checkpoint, records audit.pruned, and verification still works', async () => {
    for (let i = 0; i < 10; i += 1) {
      clock += 3_600_000;
      await log.record(sampleEvent(i));
    }
    const before = Date.parse('2026-01-01T05:30:00Z'); // events 1..5 are older
    clock += 1000;
    const result = await pruneEvents(storage.db, { before, actor: 'cli', checkpointKey: CHECKPOINT_KEY, now: clock });
    expect(result).toEqual({ deleted: 5, through_seq: 5 });
    const report = await verifyChain(storage.db, { checkpointKey: CHECKPOINT_KEY });
    expect(report).toMatchObject({ valid: true, first_seq: 6, last_seq: 11, checked_events: 6 });
    const pruned = await queryEvents(storage.db, { action: 'audit.pruned' }, { limit: 5 });
    expect(pruned.data[0]).toMatchObject({ seq: 11, actor: 'cli', details: { deleted: 5, through_seq: 5 } });

    // Later events keep chaining after the pruned point, and deleting the new first row is still caught.
    await log.record(sampleEvent(99));
    expect((await verifyChain(storage.db, { checkpointKey: CHECKPOINT_KEY })).valid).toBe(true);
    await storage.db.deleteFrom('audit_events').where('seq', '=', 6).execute();
    expect((await verifyChain(storage.db, { checkpointKey: CHECKPOINT_KEY })).first_broken).toEqual({ id: null, seq: 6, reason: 'missing_event' });
  });

  it('samples rate-limit blocks: one event per caller per window, with the suppressed count', async () => {
    const block = { action: 'ratelimit.blocked' as const, actor: 'apikey:k1', entity_type: 'route', entity_id: 'POST /v1/x', outcome: 'denied' as const };
    for (let i = 0; i < 5; i += 1) await log.record(block);
    await log.record({ ...block, actor: 'apikey:k2' });
    clock += 10_001;
    await log.record(block);
    const rows = await queryEvents(storage.db, { action: 'ratelimit.blocked' }, { limit: 50 });
    expect(rows.data.map((e) => [e.actor, e.details])).toEqual([
      ['apikey:k1', { suppressed_since_last: 4 }],
      ['apikey:k2', null],
      ['apikey:k1', null],
    ]);
  });

  it('writes a signed head checkpoint once the checkpoint interval has passed', async () => {
    await log.record(sampleEvent(1));
    clock += 60_000;
    await log.record(sampleEvent(2));
    const checkpoints = await storage.db.selectFrom('audit_checkpoints').selectAll().execute();
    expect(checkpoints.map((c) => [c.kind, c.seq])).toEqual([['head', 2]]);
  });
});
