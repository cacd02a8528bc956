/*
 * `warden migrate --status` only reads. On a SQLite database whose file does not exist (not
 * migrated yet, a mistyped WARDEN_DATABASE_URL, a volume that is not mounted) it creates neither
 * the file nor its directory: it says on stderr that there is no database yet, naming the path,
 * lists every migration as pending and exits 1, as for any database with pending migrations.
 * `warden migrate` itself creates the database.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runWarden } from '../helpers/cli.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function envFor(databaseFile: string, root: string): Record<string, string> {
  return { WARDEN_DOTENV_FILE: '/dev/null', WARDEN_DATA_DIR: root, WARDEN_DATABASE_URL: `sqlite:${databaseFile}` };
}

describe('warden migrate --status on a SQLite file that does not exist yet', () => {
  it('says there is no database yet and exits 1 with every migration pending, creating neither the file nor its directory', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'warden-status-missing-'));
    dirs.push(root);
    const missing = path.join(root, 'not-mounted', 'warden.db');
    const result = await runWarden(['migrate', '--status'], { env: envFor(missing, root) });
    expect(existsSync(path.dirname(missing))).toBe(false);
    expect(existsSync(missing)).toBe(false);
    expect(result.stderr).toContain(`no database yet: ${missing} does not exist`);
    expect(result.stdout).toMatch(/^pending {2}0001_core$/m);
    expect(result.stdout).not.toMatch(/^applied /m);
    expect(result.code).toBe(1);
  });

  it('reports an existing database as before, once `warden migrate` has created it', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'warden-status-missing-'));
    dirs.push(root);
    const file = path.join(root, 'new', 'warden.db');
    const migrated = await runWarden(['migrate'], { env: envFor(file, root) });
    expect(migrated.code, migrated.stderr).toBe(0);
    expect(existsSync(file)).toBe(true);
    const status = await runWarden(['migrate', '--status'], { env: envFor(file, root) });
    expect(status.stdout).toMatch(/^applied {2}0001_/m);
    expect(status.stdout).not.toMatch(/^pending /m);
    expect(status.code).toBe(0);
  });
});
