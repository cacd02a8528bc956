import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { appendEvents } from '../../src/audit/audit-chain.js';
import { CHECKPOINT_KEY_PURPOSE } from '../../src/audit/audit-log-domain.js';
import { runCli } from '../../src/cli/main.js';
import { deriveKey } from '../../src/crypto/derive-key.js';
import type { Storage } from '../../src/storage/index.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';
import { createTestStorage } from '../helpers/databases.js';
import { captureIo, datedEvent } from '../audit/helpers.js';

/**
 * `warden audit prune --before DATE` deletes: the date is read as strictly as the query bounds
 * (RFC 3339 with an offset, or epoch ms, checked field by field). Date.parse would roll
 * 2026-02-31 into March, read `-1` as 2001 and a time without offset as local time.
 */
describe('warden audit flags: dates as strict as the query bounds, every unreadable flag exit 2', () => {
  let storage: Storage & { url: string };
  let dataDir: string;
  beforeEach(async () => {
    storage = await createTestStorage('sqlite');
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'warden-review-b-'));
    vi.stubEnv('WARDEN_ENV', 'development');
    vi.stubEnv('WARDEN_DATA_DIR', dataDir);
    vi.stubEnv('WARDEN_DOTENV_FILE', '/dev/null');
    vi.stubEnv('WARDEN_SECRET_KEY', TEST_SECRET_KEY);
    vi.stubEnv('WARDEN_DATABASE_URL', storage.url);
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await storage.close();
    rmSync(dataDir, { recursive: true, force: true });
  });



  it('refuses --before 2026-02-31 instead of pruning the events of 1 and 2 March', async () => {
    const key = deriveKey(TEST_SECRET_KEY, CHECKPOINT_KEY_PURPOSE);
    const march = [Date.parse('2026-03-01T12:00:00Z'), Date.parse('2026-03-02T12:00:00Z')];
    await appendEvents(storage.db, march.map((at, i) => datedEvent(at, i)), { now: Date.now(), key, checkpoint: true });
    const io = captureIo();
    const code = await runCli(['node', 'warden', 'audit', 'prune', '--before', '2026-02-31'], io);
    const left = await storage.db.selectFrom('audit_events').select('seq').where('action', '=', 'user.updated').execute();
    expect({ code, left: left.length }).toEqual({ code: 2, left: 2 });
    expect(io.errors.join('\n')).toContain('--before must be epoch milliseconds or an RFC 3339 date');

    // A date it can read the one way prunes as asked.
    expect(await runCli(['node', 'warden', 'audit', 'prune', '--before', '2026-03-02T00:00:00Z'], captureIo())).toBe(0);
    expect(await storage.db.selectFrom('audit_events').select('seq').where('action', '=', 'user.updated').execute()).toHaveLength(1);
  });

  // Every flag the command cannot read is exit 2 (operations.md), before anything is read.
  it.each([
    [['audit', 'export', '--since', 'yesterday'], '--since must be epoch milliseconds or an RFC 3339 date'],
    [['audit', 'query', '--until', '2026-02-31'], '--until must be epoch milliseconds or an RFC 3339 date'],
    [['audit', 'query', '--since', '2026-01-01', '--hours', '2'], 'Use either hours or since, not both'],
    [['audit', 'export', '--outcome', 'bogus'], '--outcome must be one of success, failure, denied'],
  ])('%j is a usage error (exit 2) naming the flag', async (args, message) => {
    const io = captureIo();
    expect(await runCli(['node', 'warden', ...args], io)).toBe(2);
    expect(io.errors.join('\n')).toContain(message);
  });
});
