import { afterEach, expect, it } from 'vitest';
import type { ApiKeys } from '../../src/apikeys/api-keys-domain.js';
import type { AuditEventInput } from '../../src/audit/audit-event.js';
import { oauthOf } from '../../src/oauth/oauth-domain.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { seedUser } from '../identity/identity-helpers.js';

describeEachDatabase('a client revocation is audited exactly once, also when it cannot be announced (review R-OAUTH-2)', (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  /** Captures every audit event from now on. */
  function capture(): AuditEventInput[] {
    const events: AuditEventInput[] = [];
    const audit = t.context.audit;
    const record = audit.record.bind(audit);
    audit.record = async (event) => {
      events.push(event);
      return record(event);
    };
    return events;
  }
  const revocations = (events: readonly AuditEventInput[]) => events.filter((e) => e.action === 'client.revoked');

  it('commits, audits and answers normally when the invalidation publish fails (Redis down); a retry records nothing more', async () => {
    t = await createTestApp({ dialect });
    const admin = await seedUser(t, { isAdmin: true });
    const clients = oauthOf(t.context).clients;
    const { client } = await clients.create({ name: 'c', ownerId: admin.id, scopes: ['keys:read'] }, { actor: 'system' });
    expect(await clients.isActive(client.client_id)).toBe(true);
    const bus = t.context.invalidation;
    const publish = bus.publish.bind(bus);
    // As the Redis bus fails: this instance has been told (local delivery first), the others not.
    bus.publish = async (message) => {
      await publish(message);
      throw new Error('redis down');
    };
    const events = capture();

    const revoked = await clients.revoke(client.client_id, { actor: admin.id, request_id: 'req-1' });
    expect(revoked.revoked_at).toEqual(expect.any(Number));
    expect((await clients.get(client.client_id)).revoked_at).toBe(revoked.revoked_at);
    expect(await clients.isActive(client.client_id)).toBe(false);
    expect(revocations(events)).toEqual([expect.objectContaining({ actor: admin.id, entity_id: client.client_id, outcome: 'success', request_id: 'req-1' })]);
    // Reported for the operator instead of failing the request.
    expect(t.logs.some((line) => line.level === 50 && String(line.msg).includes('not announced'))).toBe(true);

    const again = await clients.revoke(client.client_id, { actor: admin.id });
    expect(again.revoked_at).toBe(revoked.revoked_at);
    expect(revocations(events)).toHaveLength(1);
    bus.publish = publish;
  });

  it('answers DELETE /v1/clients/{id} with the revoked client while the publish fails', async () => {
    t = await createTestApp({ dialect });
    const admin = await seedUser(t, { isAdmin: true });
    const key = (await (t.context.apiKeys as ApiKeys).service.create({ name: 'root', ownerId: admin.id, permissions: ['*:*'] }, { actor: 'system' })).key;
    const { client } = await oauthOf(t.context).clients.create({ name: 'c', ownerId: admin.id, scopes: ['keys:read'] }, { actor: 'system' });
    const bus = t.context.invalidation;
    const publish = bus.publish.bind(bus);
    bus.publish = async (message) => {
      await publish(message);
      if (message.topic === 'oauth-client') throw new Error('redis down');
    };
    const events = capture();
    const res = await t.app.inject({ method: 'DELETE', url: `/v1/clients/${client.client_id}`, headers: { 'x-api-key': key } });
    expect(res.statusCode).toBe(200);
    expect(res.json().revoked_at).not.toBeNull();
    expect(revocations(events)).toHaveLength(1);
    bus.publish = publish;
  });

  it('records one event for two concurrent revocations: only the one that changed the row audits', async () => {
    t = await createTestApp({ dialect });
    const admin = await seedUser(t, { isAdmin: true });
    const clients = oauthOf(t.context).clients;
    const { client } = await clients.create({ name: 'c', ownerId: admin.id, scopes: ['keys:read'] }, { actor: 'system' });
    const events = capture();
    const [first, second] = await Promise.all([clients.revoke(client.client_id, { actor: 'a' }), clients.revoke(client.client_id, { actor: 'b' })]);
    // Both report the one revocation that took effect.
    expect(first.revoked_at).not.toBeNull();
    expect(second.revoked_at).toBe(first.revoked_at);
    expect(revocations(events)).toHaveLength(1);
  });
});
