import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CliIo } from '../../src/cli/cli-io.js';
import { runCli } from '../../src/cli/main.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';

// docs/api-keys.md: `warden keys create --json` prints the key once and its record; the record
// is what `warden keys show --json` and GET /v1/keys/{id} show, never the hash.

const dirs: string[] = [];
afterEach(() => {
  vi.unstubAllEnvs();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function useFreshDatabase(): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'warden-keys-json-'));
  dirs.push(dir);
  vi.stubEnv('WARDEN_ENV', 'development');
  vi.stubEnv('WARDEN_DATABASE_URL', `sqlite:${path.join(dir, 'warden.db')}`);
  vi.stubEnv('WARDEN_DATA_DIR', dir);
  vi.stubEnv('WARDEN_DOTENV_FILE', '/dev/null');
  vi.stubEnv('WARDEN_LOG_LEVEL', 'silent');
  vi.stubEnv('WARDEN_SECRETS_PROVIDER', 'env');
  vi.stubEnv('WARDEN_SECRET_KEY', TEST_SECRET_KEY);
}

async function cli(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    readStdin: async () => Buffer.alloc(0),
  };
  const code = await runCli(['node', 'warden', ...args], io);
  return { code, out, err };
}

const RECORD_FIELDS = [
  'disabled_by_admin',
  'id',
  'prefix',
  'name',
  'owner_id',
  'environment',
  'permissions',
  'metadata',
  'rate_limit',
  'status',
  'created_at',
  'expires_at',
  'revoked_at',
  'rotated_from',
  'replaced_by',
  'usage_count',
  'last_used_at',
  'last_used_ip',
];

describe('warden keys --json', () => {
  it('create prints the key once plus the record that show --json prints, never the hash', async () => {
    useFreshDatabase();
    const user = await cli('users', 'create', '--email', 'owner@example.com', '--generate-password');
    expect(user.code, user.err.join('\n')).toBe(0);
    const ownerId = /^created user (\S+) /.exec(user.out[0] ?? '')?.[1] ?? '';

    const created = await cli(
      'keys',
      'create',
      '--name',
      'ci',
      '--owner',
      ownerId,
      '--expires-at',
      '2030-01-01T00:00:00Z',
      '--rate-limit',
      '100/60s',
      '--json',
    );
    expect(created.code, created.err.join('\n')).toBe(0);
    expect(created.out).toHaveLength(1);
    const printed = JSON.parse(created.out[0] ?? '') as Record<string, unknown>;
    expect(Object.keys(printed).sort()).toEqual(['key', ...RECORD_FIELDS].sort());
    expect(printed).toMatchObject({
      name: 'ci',
      owner_id: ownerId,
      environment: 'live',
      permissions: [],
      rate_limit: { limit: 100, window_ms: 60_000 },
      status: 'active',
      expires_at: '2030-01-01T00:00:00.000Z',
      usage_count: 0,
    });
    expect(String(printed.key).startsWith(String(printed.prefix))).toBe(true);
    expect(created.out[0]).not.toMatch(/hash/i);

    const shown = await cli('keys', 'show', String(printed.id), '--json');
    expect(shown.code, shown.err.join('\n')).toBe(0);
    const { key, ...record } = printed;
    expect(JSON.parse(shown.out[0] ?? '')).toEqual(record);
    expect(shown.out.join('\n')).not.toContain(String(key));
  });
});
