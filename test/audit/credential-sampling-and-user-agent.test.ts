import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendEvents } from '../../src/audit/audit-chain.js';
import type { AuditEventInput } from '../../src/audit/audit-event.js';
import type { AuditLog } from '../../src/audit/audit-recorder.js';
import { verifyChain } from '../../src/audit/audit-verify.js';
import type { Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';
import { CHECKPOINT_KEY, testAuditLog } from './helpers.js';

const KEY = 'wdn_live_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghQwErTy';
const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';

/** What the API-key authenticator records for a key it could not identify. */
function unknownKey(ip: string, code = 'not_found'): AuditEventInput {
  return { action: 'apikey.verification_denied', actor: 'anonymous', entity_type: 'api_key', outcome: 'denied', ip, details: { code, via: 'credential' } };
}

/** What the OAuth endpoints record for a failed client authentication. */
function clientFailure(ip: string, reason: string, clientId = randomUUID()): AuditEventInput {
  return {
    action: 'client.auth.failed',
    actor: `client:${clientId}`,
    entity_type: 'oauth_client',
    entity_id: clientId,
    outcome: reason === 'throttled' ? 'denied' : 'failure',
    ip,
    details: { reason, method: 'client_secret_basic' },
  };
}

describeEachDatabase('audit log: refused anonymous credentials are sampled per address', (dialect) => {
  let storage: Storage;
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

  const rows = () => storage.db.selectFrom('audit_events').select(['action', 'actor', 'ip', 'details']).orderBy('seq').execute();

  it('records the first unidentified key per address and kind in a window, then carries the suppressed count', async () => {
    for (let i = 0; i < 50; i += 1) await log.record(unknownKey('203.0.113.9'));
    await log.record(unknownKey('203.0.113.9', 'malformed'));
    await log.record(unknownKey('198.51.100.7'));
    // One IPv6 subscriber rotating through its /64 is one address, as for the rate limits.
    await log.record(unknownKey('2001:db8:1:2::1'));
    await log.record(unknownKey('2001:db8:1:2:ffff::9'));
    clock += 60_000;
    await log.record(unknownKey('203.0.113.9'));
    expect((await rows()).map((r) => [r.ip, r.details === null ? null : JSON.parse(r.details)])).toEqual([
      ['203.0.113.9', { code: 'not_found', via: 'credential' }],
      ['203.0.113.9', { code: 'malformed', via: 'credential' }],
      ['198.51.100.7', { code: 'not_found', via: 'credential' }],
      ['2001:db8:1:2::1', { code: 'not_found', via: 'credential' }],
      ['203.0.113.9', { code: 'not_found', via: 'credential', suppressed_since_last: 49 }],
    ]);
    expect((await verifyChain(storage.db, { checkpointKey: CHECKPOINT_KEY })).valid).toBe(true);
  });

  it('records every refusal of an identified key (revoked, expired, disabled: a real key in use)', async () => {
    for (let i = 0; i < 5; i += 1) {
      await log.record({ ...unknownKey('203.0.113.9'), actor: 'apikey:k1', entity_id: 'k1', details: { code: 'revoked', via: 'credential', prefix: 'AbCdEfGh' } });
    }
    expect(await rows()).toHaveLength(5);
  });

  it('samples a key refused for its own rate limit per key, as a rate-limit block', async () => {
    const overLimit = (keyId: string, ip: string): AuditEventInput => ({ ...unknownKey(ip), actor: `apikey:${keyId}`, entity_id: keyId, details: { code: 'rate_limited', via: 'credential' } });
    for (let i = 0; i < 10; i += 1) await log.record(overLimit('k1', `203.0.113.${i}`));
    await log.record(overLimit('k2', '203.0.113.9'));
    clock += 60_000;
    await log.record(overLimit('k1', '203.0.113.9'));
    expect((await rows()).map((r) => [r.actor, (JSON.parse(r.details ?? '{}') as { suppressed_since_last?: number }).suppressed_since_last])).toEqual([
      ['apikey:k1', undefined],
      ['apikey:k2', undefined],
      ['apikey:k1', 9],
    ]);
  });

  it('samples unknown and locked-out OAuth clients per address, and records a known client failing every time', async () => {
    for (let i = 0; i < 20; i += 1) await log.record(clientFailure('203.0.113.9', 'unknown_client'));
    for (let i = 0; i < 20; i += 1) await log.record(clientFailure('203.0.113.9', 'throttled'));
    const known = randomUUID();
    for (let i = 0; i < 3; i += 1) await log.record(clientFailure('203.0.113.9', 'bad_secret', known));
    await log.record(clientFailure('203.0.113.9', 'revoked', known));
    expect((await rows()).map((r) => (JSON.parse(r.details ?? '{}') as { reason: string }).reason)).toEqual([
      'unknown_client',
      'throttled',
      'bad_secret',
      'bad_secret',
      'bad_secret',
      'revoked',
    ]);
  });

  it('never samples other actions, nor a refused key checked by an authenticated caller of /v1/keys/verify', async () => {
    for (let i = 0; i < 3; i += 1) {
      await log.record({ ...unknownKey('203.0.113.9'), actor: 'user-1', details: { code: 'not_found', via: 'verify' } });
      await log.record({ action: 'auth.login.failed', actor: 'email:abc', outcome: 'failure', ip: '203.0.113.9' });
    }
    expect(await rows()).toHaveLength(6);
  });
});

describe('audit log: the user agent is redacted before it is stored', () => {
  let storage: Storage;
  let log: AuditLog;

  beforeEach(async () => {
    storage = await createTestStorage('sqlite');
    log = testAuditLog(storage);
  });
  afterEach(async () => {
    await log.close().catch(() => undefined);
    await storage.close();
  });

  it('keeps no API key, JWT or bearer credential from a User-Agent, and keeps an ordinary one as it is', async () => {
    const agents = [`scanner ${KEY}`, `client/1.0 (${JWT})`, 'Bearer s3cr3t-opaque-token-value', `x; authorization=Bearer ${JWT}`, CHROME, 'curl/8.5.0'];
    for (const user_agent of agents) await log.record({ action: 'user.updated', actor: 'user-1', outcome: 'success', user_agent });
    const stored = (await storage.db.selectFrom('audit_events').select('user_agent').orderBy('seq').execute()).map((r) => r.user_agent ?? '');
    for (const secret of [KEY, JWT, 's3cr3t-opaque-token-value']) expect(stored.join('\n')).not.toContain(secret);
    expect(stored[0]).toBe('scanner [REDACTED:warden_api_key]');
    expect(stored[2]).toBe('Bearer [REDACTED:bearer_token]');
    // A browser's version looks like an IPv4 address; it is kept (the address has its own column).
    expect(stored.slice(4)).toEqual([CHROME, 'curl/8.5.0']);
    expect((await verifyChain(storage.db, { checkpointKey: CHECKPOINT_KEY })).valid).toBe(true);
  });

  it('leaves rows written before redaction as they were: the chain over them still verifies', async () => {
    // A row as the recorder wrote it before: the user agent verbatim.
    const old = { id: randomUUID(), occurred_at: Date.parse('2025-12-01T00:00:00Z'), action: 'user.updated', actor: 'user-1', entity_type: null, entity_id: null, outcome: 'success', ip: null, user_agent: `old ${KEY}`, request_id: null, details: null };
    await appendEvents(storage.db, [old], { now: old.occurred_at, key: CHECKPOINT_KEY });
    await log.record({ action: 'user.updated', actor: 'user-1', outcome: 'success', user_agent: `new ${KEY}` });
    const stored = (await storage.db.selectFrom('audit_events').select('user_agent').orderBy('seq').execute()).map((r) => r.user_agent);
    expect(stored).toEqual([`old ${KEY}`, 'new [REDACTED:warden_api_key]']);
    expect((await verifyChain(storage.db, { checkpointKey: CHECKPOINT_KEY })).valid).toBe(true);
  });
});
