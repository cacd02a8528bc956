import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { AuditLog } from '../../src/audit/audit-recorder.js';
import { verifyChain } from '../../src/audit/audit-verify.js';
import { openDatabase, type Storage } from '../../src/storage/index.js';
import { createTestStorage } from '../helpers/databases.js';
import { CHECKPOINT_KEY, sampleEvent, testAuditLog } from './helpers.js';

/**
 * "One chain across instances" (docs/audit.md) rests on READ COMMITTED: an instance waiting on
 * the head row's lock re-reads the head the other committed. A database whose default is
 * REPEATABLE READ (ALTER DATABASE … SET default_transaction_isolation) would fail the waiter
 * with 40001, and every audited request in its batch with 503; Warden's connections pin READ
 * COMMITTED for themselves.
 */
describe.skipIf(!inject('postgresAvailable'))(
  'audit appends from two instances on PostgreSQL whose default isolation is REPEATABLE READ',
  () => {
    let storage: Storage & { url: string };
    const instances: { storage: Storage; log: AuditLog }[] = [];

    beforeEach(async () => {
      storage = await createTestStorage('postgres');
      const url = new URL(storage.url);
      // As ALTER DATABASE … SET default_transaction_isolation would, for this test's connections only.
      url.searchParams.set(
        'options',
        `${url.searchParams.get('options') ?? ''} -c default_transaction_isolation=repeatable\\ read`,
      );
      for (let i = 0; i < 2; i += 1) {
        const opened = openDatabase(url.toString(), { poolSize: 2 });
        instances.push({ storage: opened, log: testAuditLog(opened) });
      }
    });
    afterEach(async () => {
      for (const instance of instances.splice(0)) {
        await instance.log.close().catch(() => undefined);
        await instance.storage.close();
      }
      await storage.close();
    });

    it('two instances recording at the same time both commit (default isolation REPEATABLE READ)', async () => {
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, async (_, round) =>
          Promise.all(
            instances.map((instance, i) =>
              instance.log.record(sampleEvent(round * 2 + i)).then(
                () => 'committed',
                (error: { code?: string }) => error.code ?? 'error',
              ),
            ),
          ),
        ),
      );
      const refused = outcomes.flat().filter((o) => o !== 'committed');
      expect(refused).toEqual([]);
      expect((await verifyChain(storage.db, { checkpointKey: CHECKPOINT_KEY })).valid).toBe(true);
    });
  },
);
