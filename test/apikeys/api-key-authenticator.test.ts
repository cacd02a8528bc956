import type { FastifyRequest } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApiKeyAuthenticator } from '../../src/apikeys/api-key-authenticator.js';
import { ApiKeyService } from '../../src/apikeys/api-key-service.js';
import { ApiKeyVerifier } from '../../src/apikeys/api-key-verifier.js';
import { createPepperKeyring } from '../../src/apikeys/pepper-keyring.js';
import { UsageTracker } from '../../src/apikeys/usage-tracker.js';
import type { AuditEventInput } from '../../src/audit/audit-event.js';
import { createMemoryInvalidationBus } from '../../src/cache/invalidation-bus.js';
import type { Authenticator } from '../../src/http/auth-guard.js';
import type { Principal } from '../../src/http/principal.js';
import type { Storage } from '../../src/storage/index.js';
import { createTestStorage } from '../helpers/databases.js';
import { insertUser } from './fixtures.js';

const SECRET = 'authenticator-test-secret-0123456789abcdef0123456789ab';
const SYSTEM = { actor: 'system' };

/** The parts of a request the authenticator reads. */
function requestWith(headers: Record<string, string>): FastifyRequest {
  // Node's raw header list too: a repeated Authorization is found there.
  const rawHeaders = Object.entries(headers).flat();
  return { headers, raw: { rawHeaders }, ip: '203.0.113.9', id: 'req-1' } as unknown as FastifyRequest;
}

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}

// The authenticator's own behaviour does not depend on the database; verification on both
// databases is specified in api-key-verifier.test.ts.
describe('the API-key authenticator', () => {
  let storage: Storage;
  let usage: UsageTracker;
  let audit: AuditEventInput[];
  let service: ApiKeyService;
  let authenticator: Authenticator;
  let ownerId: string;

  beforeEach(async () => {
    storage = await createTestStorage('sqlite');
    usage = new UsageTracker({ db: storage.db, flushIntervalMs: 0 });
    audit = [];
    const keyring = createPepperKeyring({ secretKey: SECRET });
    const bus = createMemoryInvalidationBus();
    const recorder = { record: async (event: AuditEventInput) => void audit.push(event) };
    const verifier = new ApiKeyVerifier({ db: storage.db, keyring, usage, invalidation: bus, cacheTtlMs: 60_000 });
    service = new ApiKeyService({ db: storage.db, keyring, usage, invalidation: bus, audit: () => recorder, rotationGraceMs: 0 });
    authenticator = createApiKeyAuthenticator(verifier, () => recorder);
    ownerId = await insertUser(storage.db);
  });

  afterEach(async () => {
    await usage.close();
    await storage.close();
  });

  it('answers a key the cache vouches for synchronously, with exactly the key\'s permissions', async () => {
    const issued = await service.create({ name: 'ci', ownerId, permissions: ['reports:read'] }, SYSTEM);
    const expected: Principal = { kind: 'api_key', subject: ownerId, permissions: ['reports:read'], credentialId: issued.record.id, keyId: issued.record.id };
    // First use: the database answers, so the answer is a promise.
    const first = authenticator(requestWith({ 'x-api-key': issued.key }));
    expect(isPromise(first)).toBe(true);
    expect(await first).toEqual(expected);
    // Cached: a principal, not a promise, for X-API-Key and for a Bearer wdn_ key alike.
    const presentations: Record<string, string>[] = [{ 'x-api-key': ` ${issued.key} ` }, { authorization: `Bearer ${issued.key}` }];
    for (const headers of presentations) {
      const cached = authenticator(requestWith(headers));
      expect(isPromise(cached)).toBe(false);
      expect(cached).toEqual(expected);
    }
    expect(usage.pending(issued.record.id)).toMatchObject({ count: 3, lastUsedIp: '203.0.113.9' });
  });

  it('rejects a refused key with its 401 code and audits it by id and prefix only, cached or not', async () => {
    const issued = await service.create({ name: 'ci', ownerId, permissions: [] }, SYSTEM);
    await service.revoke(issued.record.id, SYSTEM);
    for (let i = 0; i < 2; i += 1) {
      const answer = authenticator(requestWith({ 'x-api-key': issued.key }));
      await expect(answer).rejects.toMatchObject({ code: 'key_revoked', status: 401 });
    }
    const denied = audit.filter((e) => e.action === 'apikey.verification_denied');
    expect(denied).toHaveLength(2);
    expect(denied[0]).toMatchObject({ entity_id: issued.record.id, ip: '203.0.113.9', request_id: 'req-1', details: { code: 'revoked', via: 'credential' } });
    expect(JSON.stringify(audit)).not.toContain(issued.key);
  });

  it('does not claim a request without a key, or with a bearer that is not a wdn_ key', () => {
    expect(authenticator(requestWith({}))).toBeUndefined();
    expect(authenticator(requestWith({ authorization: 'Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig' }))).toBeUndefined();
  });
});
