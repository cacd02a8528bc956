import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TEST_SECRET_KEY } from '../helpers/app.js';
import { runWarden } from '../helpers/cli.js';

describe('warden clients', () => {
  it('creates (secret printed once), lists without secrets, rotates and revokes; unknown ids fail', async () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'warden-clients-cli-'));
    const env = { WARDEN_SECRET_KEY: TEST_SECRET_KEY, WARDEN_DATABASE_URL: `sqlite:${path.join(cwd, 'w.db')}`, WARDEN_LOG_LEVEL: 'silent' };
    const admin = await runWarden(['users', 'create', '--email', 'ops@example.test', '--admin', '--generate-password'], { cwd, env });
    expect(admin.code, admin.stderr).toBe(0);
    const ownerId = /[0-9a-f]{8}-[0-9a-f-]{27}/.exec(admin.stdout)?.[0];
    expect(ownerId).toBeDefined();

    const created = await runWarden(['clients', 'create', '--name', 'billing', '--owner', ownerId!, '--scope', 'keys:read', 'users:read'], { cwd, env });
    expect(created.code, created.stderr).toBe(0);
    const clientId = /client_id=(\S+)/.exec(created.stdout)?.[1];
    const secret = /client_secret=(\S+)/.exec(created.stdout)?.[1];
    expect(secret).toMatch(/^wcs_/);

    const listed = await runWarden(['clients', 'list'], { cwd, env });
    expect(listed.stdout).toContain(`${clientId}  active   billing`);
    expect(listed.stdout).toContain('scopes=keys:read users:read');
    expect(listed.stdout).not.toContain(secret);
    expect(listed.stderr).not.toContain('next cursor');

    // `show` prints the HTTP form: ISO 8601 times, never the secret or its hash.
    const shown = await runWarden(['clients', 'show', clientId!], { cwd, env });
    expect(shown.code, shown.stderr).toBe(0);
    const client = JSON.parse(shown.stdout) as Record<string, unknown>;
    expect(client).toMatchObject({ client_id: clientId, name: 'billing', owner_id: ownerId, scopes: ['keys:read', 'users:read'], expires_at: null, revoked_at: null });
    expect(client.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(shown.stdout).not.toContain(secret);
    expect(shown.stdout).not.toMatch(/hash/i);

    const rotated = await runWarden(['clients', 'rotate', clientId!, '--grace', '0'], { cwd, env });
    expect(rotated.stdout).toMatch(/^client_secret=wcs_/);
    const revoked = await runWarden(['clients', 'revoke', clientId!], { cwd, env });
    expect(revoked.stdout).toContain('revoked');

    const missing = await runWarden(['clients', 'show', '00000000-0000-4000-8000-000000000000'], { cwd, env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('was not found');
    expect((await runWarden(['clients', 'rotate', clientId!, '--grace', 'soon'], { cwd, env })).code).toBe(2);
    // Eight CLI processes, each starting Node and opening the database: as the paging case below.
  }, 60_000);

  it('lists in pages: --limit rows on stdout, the next cursor on stderr, --cursor for the next page', async () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'warden-clients-cli-'));
    const env = { WARDEN_SECRET_KEY: TEST_SECRET_KEY, WARDEN_DATABASE_URL: `sqlite:${path.join(cwd, 'w.db')}`, WARDEN_LOG_LEVEL: 'silent' };
    const admin = await runWarden(['users', 'create', '--email', 'ops@example.test', '--admin', '--generate-password'], { cwd, env });
    const ownerId = /[0-9a-f]{8}-[0-9a-f-]{27}/.exec(admin.stdout)?.[0] as string;
    for (const name of ['first', 'second', 'third']) expect((await runWarden(['clients', 'create', '--name', name, '--owner', ownerId], { cwd, env })).code).toBe(0);
    const names: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await runWarden(['clients', 'list', '--limit', '2', ...(cursor === undefined ? [] : ['--cursor', cursor])], { cwd, env });
      expect(page.code, page.stderr).toBe(0);
      names.push(...page.stdout.trim().split('\n').map((line) => line.split(/\s+/)[2] as string));
      cursor = /next cursor: (\S+)/.exec(page.stderr)?.[1];
      pages += 1;
    } while (cursor !== undefined);
    // 3 clients at 2 a page: a full page with a cursor, then the last one without.
    expect(pages).toBe(2);
    expect(names.sort()).toEqual(['first', 'second', 'third']);
  }, 60_000);
});
