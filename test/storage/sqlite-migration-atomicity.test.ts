// SQLite migrations are atomic: Kysely's SqliteAdapter declares no transactional DDL, so
// migrateToLatest runs them itself inside BEGIN IMMEDIATE … COMMIT. A migration that fails or
// whose process dies between two statements leaves nothing behind, and starters in separate
// processes wait for each other instead of running the same migration side by side.
// The child processes run the compiled code: `npx tsc -p tsconfig.build.json` first.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS, migrateToLatest, migrationStatus, openDatabase, type Storage, type WardenMigration } from '../../src/storage/index.js';

const DIST_STORAGE = fileURLToPath(new URL('../../dist/storage/index.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let dir: string;
let storage: Storage | undefined;
afterEach(async () => {
  await storage?.close();
  storage = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function freshFile(): string {
  dir = mkdtempSync(path.join(os.tmpdir(), 'warden-mig-atomic-'));
  return path.join(dir, 'warden.db');
}

async function columns(db: Storage, table: string): Promise<string[]> {
  return (await sql<{ name: string }>`select name from pragma_table_info(${table})`.execute(db.db)).rows.map((r) => r.name);
}

/**
 * Runs an ES module in a child Node process; resolves with its exit code and signal. From the
 * project root, so that bare imports (kysely) resolve.
 */
function runChild(script: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

describe('SQLite migrations', () => {
  it('a migration that fails after its first statement leaves nothing behind, and the fixed one applies', async () => {
    storage = openDatabase(`sqlite:${freshFile()}`);
    await migrateToLatest(storage);
    const failing: WardenMigration = {
      name: '9999_two_steps',
      async up(db) {
        await db.schema.alterTable('system_state').addColumn('extra', 'text').execute();
        await sql`this is not sql`.execute(db);
      },
    };
    await expect(migrateToLatest(storage, [...MIGRATIONS, failing])).rejects.toThrow('Migration 9999_two_steps failed');
    expect(await columns(storage, 'system_state')).not.toContain('extra');
    expect((await migrationStatus(storage, [...MIGRATIONS, failing])).find((m) => m.name === '9999_two_steps')?.executedAt).toBeUndefined();

    const fixed: WardenMigration = {
      name: '9999_two_steps',
      async up(db) {
        await db.schema.alterTable('system_state').addColumn('extra', 'text').execute();
      },
    };
    expect(await migrateToLatest(storage, [...MIGRATIONS, fixed])).toEqual(['9999_two_steps']);
    expect(await columns(storage, 'system_state')).toContain('extra');
  });

  it('a process killed inside 0010 leaves the database as before it, and the next start migrates', async () => {
    const file = freshFile();
    storage = openDatabase(`sqlite:${file}`);
    await migrateToLatest(storage, MIGRATIONS.filter((m) => m.name < '0010'));
    await storage.close();
    storage = undefined;
    // 0010's first statement, then the process dies (SIGKILL: nothing of it can clean up).
    const killed = await runChild(`
      import { MIGRATIONS, migrateToLatest, openDatabase } from ${JSON.stringify(DIST_STORAGE)};
      const dying = {
        name: '0010_audit_head_seal',
        async up(db) {
          await db.schema.alterTable('audit_chain_head').addColumn('checkpoint_ordinal', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
          process.kill(process.pid, 'SIGKILL');
          await new Promise(() => undefined);
        },
      };
      const storage = openDatabase(${JSON.stringify(`sqlite:${file}`)});
      await migrateToLatest(storage, [...MIGRATIONS.filter((m) => m.name < '0010'), dying]);
    `);
    expect(killed.signal, killed.stderr).toBe('SIGKILL');

    storage = openDatabase(`sqlite:${file}`);
    expect(await columns(storage, 'audit_chain_head')).not.toContain('checkpoint_ordinal');
    expect(await migrateToLatest(storage)).toEqual(MIGRATIONS.filter((m) => m.name >= '0010').map((m) => m.name));
    expect((await migrationStatus(storage)).every((m) => m.executedAt instanceof Date)).toBe(true);
  });

  it('starters in separate processes take turns: a slow migration runs once', async () => {
    const file = freshFile();
    // Each child applies every migration plus one that counts its runs and takes its time,
    // long enough for the other child to arrive while it runs.
    const script = `
      import { MIGRATIONS, migrateToLatest, openDatabase } from ${JSON.stringify(DIST_STORAGE)};
      import { sql } from 'kysely';
      const slow = {
        name: '9999_slow',
        async up(db) {
          await sql\`create table if not exists slow_runs (pid integer)\`.execute(db);
          await sql\`insert into slow_runs (pid) values (\${process.pid})\`.execute(db);
          await new Promise((resolve) => setTimeout(resolve, 700));
        },
      };
      const storage = openDatabase(${JSON.stringify(`sqlite:${file}`)});
      await migrateToLatest(storage, [...MIGRATIONS, slow]);
      await storage.close();
    `;
    const [a, b] = await Promise.all([runChild(script), runChild(script)]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    storage = openDatabase(`sqlite:${file}`);
    const runs = await sql<{ n: number }>`select count(*) as n from slow_runs`.execute(storage.db);
    expect(runs.rows[0]?.n).toBe(1);
    expect((await migrationStatus(storage, [...MIGRATIONS, { name: '9999_slow', up: async () => undefined }])).every((m) => m.executedAt instanceof Date)).toBe(true);
  });
});
