import type { Kysely } from 'kysely';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ApiKeyService } from '../../src/apikeys/api-key-service.js';
import { ApiKeyVerifier } from '../../src/apikeys/api-key-verifier.js';
import { createPepperKeyring } from '../../src/apikeys/pepper-keyring.js';
import { UsageTracker } from '../../src/apikeys/usage-tracker.js';
import type { AuditEventInput, AuditRecorder } from '../../src/audit/audit-event.js';
import { createMemoryInvalidationBus, type InvalidationBus } from '../../src/cache/invalidation-bus.js';
import type { DatabaseSchema, Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { insertUser, instrumentedDb, manualClock, nthSelectFrom } from './fixtures.js';

const SECRET = 'races-test-secret-0123456789abcdef0123456789abcdef';
const SYSTEM = { actor: 'system' };
const keyring = createPepperKeyring({ secretKey: SECRET });

describeEachDatabase('API key state changes that race each other', (dialect) => {
  let storage: Storage & { url: string };
  let clock: ReturnType<typeof manualClock>;
  let bus: InvalidationBus;
  let usage: UsageTracker;
  let audit: AuditEventInput[];
  let ownerId: string;

  const recorder: AuditRecorder = { record: async (event) => void audit.push(event) };
  const serviceOn = (db: Kysely<DatabaseSchema>, auditRecorder: AuditRecorder = recorder): ApiKeyService =>
    new ApiKeyService({ db, keyring, usage, invalidation: bus, audit: () => auditRecorder, rotationGraceMs: 86_400_000, now: clock.now });
  const freshVerifier = (): ApiKeyVerifier => new ApiKeyVerifier({ db: storage.db, keyring, usage, cacheTtlMs: 0, now: clock.now });
  const keysRotatedFrom = async (id: string): Promise<number> =>
    (await storage.db.selectFrom('api_keys').select('id').where('rotated_from', '=', id).execute()).length;

  beforeEach(async () => {
    storage = await createTestStorage(dialect);
    clock = manualClock();
    bus = createMemoryInvalidationBus();
    usage = new UsageTracker({ db: storage.db, flushIntervalMs: 0 });
    audit = [];
    ownerId = await insertUser(storage.db);
  });
  afterEach(async () => {
    await usage.close();
    await storage.close();
  });

  // Staged on PostgreSQL only: the held read keeps the rotation's transaction (and, on SQLite,
  // the single connection) open, so there the competing write could not run at all.
  const staged = it.runIf(dialect === 'postgres');

  /** Starts a rotation on an instrumented database and waits until its transaction has read the key (and is held there). */
  async function rotationHeldAfterItsRead(id: string): Promise<{ rotating: Promise<unknown>; release: () => void }> {
    const instrumented = instrumentedDb(storage.db);
    // The rotation reads the key twice: once to check the grant, once inside its transaction.
    const held = instrumented.holdNextResult(nthSelectFrom('api_keys', 2));
    const rotating = serviceOn(instrumented.db).rotate(id, SYSTEM, { graceMs: 86_400_000 });
    // Observed as settled either way; the assertions below look at the outcome.
    rotating.catch(() => undefined);
    await held;
    return { rotating, release: instrumented.release };
  }

  staged('a revoke that commits between a rotation\'s read and its write stays in force; the rotation fails with conflict', async () => {
    const service = serviceOn(storage.db);
    const issued = await service.create({ name: 'ci', ownerId, permissions: ['reports:read'] }, SYSTEM);
    const { rotating, release } = await rotationHeldAfterItsRead(issued.record.id);
    // A revoke that runs later stamps a later time than the rotation's own clock reading.
    clock.advance(1);
    await service.revoke(issued.record.id, SYSTEM);
    release();
    await expect(rotating).rejects.toMatchObject({ code: 'conflict', status: 409 });
    expect(await freshVerifier().verify(issued.key)).toMatchObject({ valid: false, code: 'revoked' });
    expect(await service.get(issued.record.id)).toMatchObject({ revokedAt: clock.now(), revokedReason: 'revoked', replacedBy: undefined });
    // The replacement the rotation had inserted was rolled back with it, and not audited.
    expect(await keysRotatedFrom(issued.record.id)).toBe(0);
    expect(audit.map((e) => e.action)).toEqual(['apikey.created', 'apikey.revoked']);
  });

  staged('of two rotations of one key, the one that writes second fails with conflict: exactly one replacement', async () => {
    const service = serviceOn(storage.db);
    const issued = await service.create({ name: 'ci', ownerId, permissions: ['reports:read'] }, SYSTEM);
    const { rotating, release } = await rotationHeldAfterItsRead(issued.record.id);
    const winner = await service.rotate(issued.record.id, SYSTEM, { graceMs: 0 });
    release();
    await expect(rotating).rejects.toMatchObject({ code: 'conflict' });
    expect(await keysRotatedFrom(issued.record.id)).toBe(1);
    expect((await service.get(issued.record.id))?.replacedBy).toBe(winner.record.id);
    // The winner's grace period (0) stands: the loser did not restart it.
    expect(await freshVerifier().verify(issued.key)).toMatchObject({ valid: false, code: 'revoked' });
    expect(await freshVerifier().verify(winner.key)).toMatchObject({ valid: true });
  });

  staged('a disable that commits between a rotation\'s read and its write is not lost to an enabled replacement', async () => {
    const service = serviceOn(storage.db);
    const issued = await service.create({ name: 'ci', ownerId, permissions: ['reports:read'] }, SYSTEM);
    const { rotating, release } = await rotationHeldAfterItsRead(issued.record.id);
    await service.setEnabled(issued.record.id, false, SYSTEM);
    release();
    await expect(rotating).rejects.toMatchObject({ code: 'conflict' });
    expect(await keysRotatedFrom(issued.record.id)).toBe(0);
    expect(await freshVerifier().verify(issued.key)).toMatchObject({ valid: false, code: 'disabled' });
  });

  it.each([
    ['revoke', 'apikey.revoked', 'revoked', (s: ApiKeyService, id: string) => s.revoke(id, SYSTEM)],
    ['rotate (grace 0)', 'apikey.rotated', 'revoked', (s: ApiKeyService, id: string) => s.rotate(id, SYSTEM, { graceMs: 0 })],
    ['disable', 'apikey.updated', 'disabled', (s: ApiKeyService, id: string) => s.setEnabled(id, false, SYSTEM)],
  ] as const)('after a %s commits, its own instance refuses the cached key even while the audit write is still pending', async (_name, action, code, change) => {
    let reachedAudit = (): void => {};
    const auditReached = new Promise<void>((resolve) => (reachedAudit = resolve));
    let openAudit = (): void => {};
    const auditGate = new Promise<void>((resolve) => (openAudit = resolve));
    const slowAudit: AuditRecorder = {
      async record(event) {
        audit.push(event);
        if (event.action !== action) return;
        reachedAudit();
        await auditGate;
      },
    };
    const service = serviceOn(storage.db, slowAudit);
    const verifier = new ApiKeyVerifier({ db: storage.db, keyring, usage, invalidation: bus, cacheTtlMs: 60_000, now: clock.now });
    const issued = await service.create({ name: 'ci', ownerId, permissions: ['reports:read'] }, SYSTEM);
    expect(await verifier.verify(issued.key)).toMatchObject({ valid: true }); // cached for a minute
    const changing = change(service, issued.record.id);
    await auditReached;
    expect(verifier.verifyCached(issued.key)).toBeUndefined();
    expect(await verifier.verify(issued.key)).toMatchObject({ valid: false, code });
    openAudit();
    await changing;
    verifier.close();
  });

  it('a failed announce neither fails the change nor skips its audit event', async () => {
    const failures: unknown[] = [];
    const service = new ApiKeyService({
      db: storage.db,
      keyring,
      usage,
      invalidation: { ...bus, publish: async () => Promise.reject(new Error('redis down')) },
      audit: () => recorder,
      onAnnounceError: (error) => failures.push(error),
      now: clock.now,
    });
    const issued = await service.create({ name: 'ci', ownerId, permissions: ['reports:read'] }, SYSTEM);
    await expect(service.setEnabled(issued.record.id, false, SYSTEM)).resolves.toMatchObject({ enabled: false });
    await expect(service.revoke(issued.record.id, SYSTEM)).resolves.toMatchObject({ revokedAt: clock.now() });
    expect(audit.map((e) => e.action)).toEqual(['apikey.created', 'apikey.updated', 'apikey.revoked']);
    expect(failures).toHaveLength(2);
  });
});
