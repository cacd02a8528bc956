import { Writable } from 'node:stream';
import { afterEach, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { loadSettings, SETTING_DEFINITIONS } from '../../src/config/index.js';
import type { Principal } from '../../src/http/principal.js';
import { startServer } from '../../src/server/start-server.js';
import { createTestApp, TEST_SECRET_KEY, type TestApp } from '../helpers/app.js';
import { createTestDatabase, describeEachDatabase } from '../helpers/databases.js';
import { cursorOf, expectCursorsRefused, expectQueriesRefused, forgedCursors, readAllPages, type Page } from '../helpers/pages.js';
import { captureIo } from './helpers.js';

/** Lets a test request act with the permissions listed in x-test-permissions. */
function allowTestPrincipals(testApp: TestApp): void {
  testApp.context.authenticators.unshift(async (request) => {
    const header = request.headers['x-test-permissions'];
    if (typeof header !== 'string') return undefined;
    // A client-token principal holds exactly the scopes its token carries (no role lookup).
    const principal: Principal = { kind: 'client', subject: 'auditor', permissions: header === '' ? [] : header.split(','), credentialId: 'test' };
    return principal;
  });
}

describeEachDatabase('audit log in the service and the CLI', (dialect) => {
  let testApp: TestApp | undefined;
  afterEach(async () => {
    vi.unstubAllEnvs();
    await testApp?.close();
    testApp = undefined;
  });

  it('serves GET /v1/audit and /v1/audit/verify to audit:read only', async () => {
    testApp = await createTestApp({ dialect });
    allowTestPrincipals(testApp);
    const { app, context } = testApp;
    for (let i = 0; i < 3; i += 1) {
      await context.audit.record({ action: 'role.created', actor: 'admin', entity_type: 'role', entity_id: `r${i}`, outcome: 'success' });
    }
    expect((await app.inject({ url: '/v1/audit' })).statusCode).toBe(401);
    const forbidden = await app.inject({ url: '/v1/audit', headers: { 'x-test-permissions': 'keys:read' } });
    expect(forbidden.statusCode).toBe(403);

    const auditor = { 'x-test-permissions': 'audit:read' };
    const first = await app.inject({ url: '/v1/audit?action=role.created&limit=2&hours=24', headers: auditor });
    expect(first.statusCode).toBe(200);
    const page = first.json<{ data: { entity_id: string }[]; next_cursor: string }>();
    expect(page.data.map((e) => e.entity_id)).toEqual(['r2', 'r1']);
    const second = await app.inject({ url: `/v1/audit?action=role.created&limit=2&cursor=${page.next_cursor}`, headers: auditor });
    expect(second.json<{ data: { entity_id: string }[]; next_cursor: null }>()).toMatchObject({ data: [{ entity_id: 'r0' }], next_cursor: null });

    expect((await app.inject({ url: '/v1/audit?bogus=1', headers: auditor })).statusCode).toBe(400);
    expect((await app.inject({ url: '/v1/audit?cursor=xyz', headers: auditor })).statusCode).toBe(400);
    expect((await app.inject({ url: '/v1/audit?hours=2&since=2026-01-01T00:00:00Z', headers: auditor })).statusCode).toBe(400);

    const verify = await app.inject({ url: '/v1/audit/verify', headers: auditor });
    expect(verify.statusCode).toBe(200);
    expect(verify.json()).toMatchObject({ valid: true, checked_events: 3, first_broken: null });
    await context.storage.db.updateTable('audit_events').set({ actor: 'someone-else' }).where('seq', '=', 2).execute();
    const broken = await app.inject({ url: '/v1/audit/verify', headers: auditor });
    expect(broken.json()).toMatchObject({ valid: false, first_broken: { seq: 2, reason: 'hash_mismatch' } });
  });

  it('records config.loaded at start: secrets masked by the settings schema, every other setting with its value and source', async () => {
    const database = await createTestDatabase(dialect);
    const metricsToken = 'metrics-9f8e7d6c5b4a39281706f5e4d3c2b1a0';
    const loaded = loadSettings({
      env: {
        WARDEN_ENV: 'development',
        WARDEN_SECRET_KEY: TEST_SECRET_KEY,
        WARDEN_METRICS_TOKEN: metricsToken,
        WARDEN_DATABASE_URL: database.url,
        WARDEN_PORT: '0',
        WARDEN_HOST: '127.0.0.1',
        WARDEN_LOG_LEVEL: 'info',
        // Ordinary settings whose names contain TOKEN, PASSWORD, SECRET or KEY.
        WARDEN_ACCESS_TOKEN_TTL: '600',
        WARDEN_PASSWORD_MIN_LENGTH: '14',
        WARDEN_SECRETS_PROVIDER: 'env',
        WARDEN_API_KEY_ROTATION_GRACE_MS: '3600000',
      },
      envFile: false,
      generateDevSecrets: false,
    });
    const server = await startServer(loaded, { print: () => undefined, handleSignals: false, logStream: new Writable({ write: (_c, _e, cb) => cb() }) });
    try {
      const rows = await server.context.storage.db.selectFrom('audit_events').selectAll().where('action', '=', 'config.loaded').execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ actor: 'system', outcome: 'success' });
      const details = JSON.parse(rows[0]?.details ?? 'null') as { settings: { name: string; value: string; source: string }[] };
      const setting = (name: string): { name: string; value: string; source: string } | undefined => details.settings.find((s) => s.name === name);

      expect(setting('WARDEN_ACCESS_TOKEN_TTL')).toEqual({ name: 'WARDEN_ACCESS_TOKEN_TTL', value: '600', source: 'env' });
      expect(setting('WARDEN_PASSWORD_MIN_LENGTH')).toEqual({ name: 'WARDEN_PASSWORD_MIN_LENGTH', value: '14', source: 'env' });
      expect(setting('WARDEN_SECRETS_PROVIDER')).toEqual({ name: 'WARDEN_SECRETS_PROVIDER', value: 'env', source: 'env' });
      expect(setting('WARDEN_API_KEY_ROTATION_GRACE_MS')).toEqual({ name: 'WARDEN_API_KEY_ROTATION_GRACE_MS', value: '3600000', source: 'env' });
      expect(setting('WARDEN_REFRESH_TOKEN_TTL')).toEqual({ name: 'WARDEN_REFRESH_TOKEN_TTL', value: '604800', source: 'default' });
      // The listen address is configuration, not a client's personal data.
      expect(setting('WARDEN_HOST')).toEqual({ name: 'WARDEN_HOST', value: '127.0.0.1', source: 'env' });
      // Secrets (flagged so by the schema): only that they are set, never the value.
      expect(setting('WARDEN_SECRET_KEY')).toEqual({ name: 'WARDEN_SECRET_KEY', value: '******** (set, 32+ chars)', source: 'env' });
      expect(setting('WARDEN_METRICS_TOKEN')).toEqual({ name: 'WARDEN_METRICS_TOKEN', value: '******** (set, 32+ chars)', source: 'env' });
      expect(setting('WARDEN_API_KEY_PEPPER')).toEqual({ name: 'WARDEN_API_KEY_PEPPER', value: '(unset)', source: 'default' });
      // Nothing is lost to key-name redaction, and no secret value appears anywhere in the row.
      expect(details.settings).toHaveLength(Object.keys(SETTING_DEFINITIONS).length);
      const stored = JSON.stringify(rows[0]);
      expect(stored).not.toContain('"[REDACTED]"');
      for (const secret of [TEST_SECRET_KEY, metricsToken]) {
        expect(stored).not.toContain(secret);
        expect(stored).not.toContain(secret.slice(0, 12));
        expect(stored).not.toContain(secret.slice(-12));
      }
    } finally {
      await server.close();
      await database.cleanup();
    }
  });

  it('keeps redacting by key name and value in every other event', async () => {
    testApp = await createTestApp({ dialect });
    const { context } = testApp;
    // The same shape config.loaded used to have: under any other action it is redacted by name.
    await context.audit.record({
      action: 'user.updated',
      actor: 'admin',
      entity_type: 'user',
      entity_id: 'u1',
      outcome: 'success',
      details: { settings: { WARDEN_ACCESS_TOKEN_TTL: { value: '600' } }, changes: [{ name: 'x', value: 'client at 203.0.113.9' }] },
    });
    const row = await context.storage.db.selectFrom('audit_events').select('details').where('action', '=', 'user.updated').executeTakeFirstOrThrow();
    expect(JSON.parse(row.details ?? 'null')).toEqual({
      settings: { WARDEN_ACCESS_TOKEN_TTL: '[REDACTED]' },
      changes: [{ name: 'x', value: 'client at [REDACTED:ipv4]' }],
    });
  });

  it('pages GET /v1/audit like every list: each event once, newest first; forged cursors and unknown fields are 400 and change nothing', async () => {
    testApp = await createTestApp({ dialect });
    allowTestPrincipals(testApp);
    const { app, context } = testApp;
    for (let i = 0; i < 6; i += 1) await context.audit.record({ action: 'role.created', actor: 'admin', entity_type: 'role', entity_id: `r${i}`, outcome: 'success' });
    const auditor = { 'x-test-permissions': 'audit:read' };
    const expected = ['r5', 'r4', 'r3', 'r2', 'r1', 'r0'];
    // 1, 2, 3 and 6 divide 6: the last full page must still say it is the last.
    for (const limit of [1, 2, 3, 4, 5, 6, 7]) {
      const served = await readAllPages<{ entity_id: string }>(app, '/v1/audit?action=role.created', auditor, limit);
      expect(served.map((e) => e.entity_id), `limit ${limit}`).toEqual(expected);
    }

    const valid = (await app.inject({ url: '/v1/audit?limit=2', headers: auditor })).json<Page<unknown>>().next_cursor as string;
    const count = async (): Promise<number> => (await context.storage.db.selectFrom('audit_events').select('seq').execute()).length;
    const before = await count();
    await expectCursorsRefused(app, '/v1/audit?limit=2', auditor, forgedCursors(valid, [cursorOf('keys'), cursorOf('users'), cursorOf('clients'), 'xyz']));
    const garbage = await app.inject({ url: `/v1/audit?cursor=${encodeURIComponent("' OR 1=1 --")}`, headers: auditor });
    expect(garbage.json()).toMatchObject({ status: 400, code: 'validation_failed', field: 'cursor' });
    expect(await count()).toBe(before);
    expect((await app.inject({ url: `/v1/audit?action=role.created&limit=2&cursor=${valid}`, headers: auditor })).json<Page<{ entity_id: string }>>().data.map((e) => e.entity_id)).toEqual(['r3', 'r2']);
    // The audit log keeps its own, larger page bound (1-500).
    expect((await app.inject({ url: '/v1/audit?limit=500', headers: auditor })).statusCode).toBe(200);
    await expectQueriesRefused(app, '/v1/audit', auditor, ['bogus=1', 'after=1', 'page=2', 'limit=0', 'limit=501', 'limit=1.5', 'cursor=']);
  });

  it('warden audit verify, query, export and prune work on the configured database', async () => {
    testApp = await createTestApp({ dialect });
    const { context } = testApp;
    await context.audit.record({ action: 'apikey.revoked', actor: 'admin', entity_type: 'api_key', entity_id: 'k1', outcome: 'success' });
    await context.audit.record({ action: 'apikey.created', actor: 'admin', entity_type: 'api_key', entity_id: 'k2', outcome: 'success' });
    vi.stubEnv('WARDEN_ENV', 'development');
    vi.stubEnv('WARDEN_SECRET_KEY', TEST_SECRET_KEY);
    vi.stubEnv('WARDEN_DATABASE_URL', testApp.settings.databaseUrl);

    let io = captureIo();
    expect(await runCli(['node', 'warden', 'audit', 'verify'], io)).toBe(0);
    expect(io.lines.join('\n')).toMatch(/valid: 2 events/);

    io = captureIo();
    expect(await runCli(['node', 'warden', 'audit', 'query', '--action', 'apikey.created'], io)).toBe(0);
    expect(io.lines.map((l) => (JSON.parse(l) as { entity_id: string }).entity_id)).toEqual(['k2']);

    // Pages of one event: the next cursor goes to stderr and takes the CLI to the next page.
    io = captureIo();
    expect(await runCli(['node', 'warden', 'audit', 'query', '--limit', '1'], io)).toBe(0);
    expect(io.lines.map((l) => (JSON.parse(l) as { entity_id: string }).entity_id)).toEqual(['k2']);
    const cursor = /^next cursor: (\S+)$/.exec(io.errors.join('\n'))?.[1] as string;
    io = captureIo();
    expect(await runCli(['node', 'warden', 'audit', 'query', '--limit', '1', '--cursor', cursor], io)).toBe(0);
    expect(io.lines.map((l) => (JSON.parse(l) as { entity_id: string }).entity_id)).toEqual(['k1']);
    expect(io.errors).toEqual([]);
    io = captureIo();
    expect(await runCli(['node', 'warden', 'audit', 'query', '--cursor', "' OR 1=1 --"], io)).toBe(2);
    expect(io.errors.join('\n')).toContain('--cursor');
    expect(io.lines).toEqual([]);

    io = captureIo();
    expect(await runCli(['node', 'warden', 'audit', 'export', '--format', 'jsonl'], io)).toBe(0);
    expect(io.lines.map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([1, 2]);
    expect(await runCli(['node', 'warden', 'audit', 'export', '--format', 'csv'], captureIo())).toBe(2);

    io = captureIo();
    expect(await runCli(['node', 'warden', 'audit', 'prune', '--before', '2999-01-01'], io)).toBe(0);
    expect(io.lines[0]).toBe('pruned 2 events (through seq 2)');
    io = captureIo();
    expect(await runCli(['node', 'warden', 'audit', 'verify', '--json'], io)).toBe(0);
    expect(JSON.parse(io.lines[0] ?? '')).toMatchObject({ valid: true, first_seq: 3, last_seq: 3 });

    await context.storage.db.deleteFrom('audit_events').execute();
    io = captureIo();
    expect(await runCli(['node', 'warden', 'audit', 'verify'], io)).toBe(1);
    expect(io.lines[0]).toMatch(/BROKEN/);
  });

  it('warden audit verify says which events predate signed heads (a log taken over after migration 0010)', async () => {
    testApp = await createTestApp({ dialect });
    const { context } = testApp;
    for (const id of ['k1', 'k2']) await context.audit.record({ action: 'apikey.revoked', actor: 'admin', entity_type: 'api_key', entity_id: id, outcome: 'success' });
    // The head as a pre-0010 instance leaves it: unsigned, no checkpoint chain.
    const db = context.storage.db;
    await db.deleteFrom('audit_checkpoints').execute();
    const last = await db.selectFrom('audit_events').select(['seq', 'hash']).orderBy('seq', 'desc').executeTakeFirstOrThrow();
    await db.updateTable('audit_chain_head').set({ seq: last.seq, hash: last.hash, signature: null, checkpoint_ordinal: 0, checkpoint_signature: null }).where('id', '=', 'head').execute();
    await context.audit.record({ action: 'apikey.created', actor: 'admin', entity_type: 'api_key', entity_id: 'k3', outcome: 'success' });
    vi.stubEnv('WARDEN_ENV', 'development');
    vi.stubEnv('WARDEN_SECRET_KEY', TEST_SECRET_KEY);
    vi.stubEnv('WARDEN_DATABASE_URL', testApp.settings.databaseUrl);
    let io = captureIo();
    expect(await runCli(['node', 'warden', 'audit', 'verify'], io)).toBe(0);
    expect(io.lines.join('\n')).toMatch(new RegExp(`note: seq 1\\.\\.${Number(last.seq)} predate signed heads`));

    // Once a prune has removed every event taken over as found, there is nothing left to warn about.
    expect(await runCli(['node', 'warden', 'audit', 'prune', '--before', '2999-01-01'], captureIo())).toBe(0);
    io = captureIo();
    expect(await runCli(['node', 'warden', 'audit', 'verify'], io)).toBe(0);
    expect(io.lines).toHaveLength(1);
    // k1, k2 (taken over), k3, then the prune's own event.
    const pruned = Number(last.seq) + 2;
    expect(io.lines[0]).toMatch(new RegExp(`^audit chain valid: 1 events \\(seq ${pruned}\\.\\.${pruned}\\)`));
    io = captureIo();
    expect(await runCli(['node', 'warden', 'audit', 'verify', '--json'], io)).toBe(0);
    expect(JSON.parse(io.lines[0] ?? '')).toMatchObject({ first_seq: pruned, legacy_through_seq: Number(last.seq) });
  });
});
