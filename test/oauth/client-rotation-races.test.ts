import { afterEach, expect, it, vi } from 'vitest';
import { oauthOf } from '../../src/oauth/oauth-domain.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { seedClient } from './oauth-helpers.js';

/**
 * A rotation writes its new secret only over the row it read. Two rotations at once would
 * otherwise both answer 200, and one of the secrets handed out would never work (the other
 * overwrote it); a rotation racing a revocation would hand out a secret of a revoked client.
 * The one that comes second gets 409 and retries.
 */
describeEachDatabase('client rotation racing another change', (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    vi.restoreAllMocks();
    await t.close();
  });

  /** Holds the first rotation between its read and its write until `release` is called. */
  function pauseFirstRotation(): { paused: Promise<void>; release: () => void } {
    const clients = oauthOf(t.context).clients as unknown as { checkIssuerLimits: (...args: unknown[]) => Promise<void> };
    const original = clients.checkIssuerLimits.bind(clients);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let signalPaused!: () => void;
    const paused = new Promise<void>((resolve) => (signalPaused = resolve));
    let first = true;
    vi.spyOn(clients, 'checkIssuerLimits').mockImplementation(async (...args: unknown[]) => {
      await original(...args);
      if (!first) return;
      first = false;
      signalPaused();
      await gate;
    });
    return { paused, release };
  }

  it('of two concurrent rotations, the second to write gets 409, and the secret the other handed out works', async () => {
    t = await createTestApp({ dialect });
    const c = await seedClient(t, ['keys:read']);
    const clients = oauthOf(t.context).clients;
    const { paused, release } = pauseFirstRotation();

    const slow = clients.rotate(c.clientId, 0, { actor: 'system' });
    await paused;
    const fast = await clients.rotate(c.clientId, 0, { actor: 'system' });
    release();
    await expect(slow).rejects.toMatchObject({ code: 'conflict' });

    expect((await clients.authenticate(c.clientId, fast.secret)).ok).toBe(true);
    const rotations = await t.context.storage.db.selectFrom('audit_events').select('action').where('action', '=', 'client.rotated').execute();
    expect(rotations).toHaveLength(1);
  });

  it('a rotation racing a revocation gets 409 and writes no secret over the revoked client', async () => {
    t = await createTestApp({ dialect });
    const c = await seedClient(t, ['keys:read']);
    const clients = oauthOf(t.context).clients;
    const { paused, release } = pauseFirstRotation();

    const rotation = clients.rotate(c.clientId, 0, { actor: 'system' });
    await paused;
    await clients.revoke(c.clientId, { actor: 'system' });
    release();
    await expect(rotation).rejects.toMatchObject({ code: 'conflict' });
    const row = await t.context.storage.db.selectFrom('oauth_clients').select(['revoked_at', 'previous_secret_hash']).where('id', '=', c.clientId).executeTakeFirstOrThrow();
    expect(row.revoked_at).not.toBeNull();
    expect(row.previous_secret_hash).toBeNull();
  });
});
