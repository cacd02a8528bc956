import { chmodSync, existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/storage/index.js';

function tempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'warden-sqlite-perms-'));
}

function modeOf(file: string): number {
  return statSync(file).mode & 0o7777;
}

async function openAndClose(file: string): Promise<void> {
  const storage = openDatabase(`sqlite:${file}`);
  try {
    await sql`select 1`.execute(storage.db);
  } finally {
    await storage.close();
  }
}

describe('SQLite file and directory permissions', () => {
  it.each([
    ['0755', 0o755],
    ['0775', 0o775],
    ['1777 (like /tmp)', 0o1777],
  ])('leaves an existing directory of mode %s as it is', async (_label, mode) => {
    // Like the working directory (`sqlite:warden.db`) or /tmp: not Warden's to change, and
    // chmod on a directory owned by someone else fails with EPERM.
    const dir = tempDir();
    chmodSync(dir, mode);
    await openAndClose(path.join(dir, 'warden.db'));
    expect(modeOf(dir)).toBe(mode);
  });

  it('creates missing data directories 0700 without touching the existing parent', async () => {
    const parent = tempDir();
    chmodSync(parent, 0o755);
    const dir = path.join(parent, 'nested', 'data');
    await openAndClose(path.join(dir, 'warden.db'));
    expect(modeOf(path.join(parent, 'nested'))).toBe(0o700);
    expect(modeOf(dir)).toBe(0o700);
    expect(modeOf(parent)).toBe(0o755);
  });

  it('creates a new database file 0600', async () => {
    const file = path.join(tempDir(), 'warden.db');
    await openAndClose(file);
    expect(modeOf(file)).toBe(0o600);
  });

  it.each([
    ['0644', 0o644],
    ['0640', 0o640],
    ['0666', 0o666],
  ])('tightens an existing database file of mode %s to 0600', async (_label, mode) => {
    const file = path.join(tempDir(), 'warden.db');
    await openAndClose(file);
    chmodSync(file, mode);
    await openAndClose(file);
    expect(modeOf(file)).toBe(0o600);
  });

  it('tightens existing -wal and -shm files to 0600', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'warden.db');
    writeFileSync(file, '', { mode: 0o644 });
    writeFileSync(`${file}-wal`, '', { mode: 0o644 });
    writeFileSync(`${file}-shm`, '', { mode: 0o644 });
    chmodSync(`${file}-wal`, 0o644);
    chmodSync(`${file}-shm`, 0o644);
    const storage = openDatabase(`sqlite:${file}`);
    try {
      expect(modeOf(file)).toBe(0o600);
      expect(modeOf(`${file}-wal`)).toBe(0o600);
      expect(modeOf(`${file}-shm`)).toBe(0o600);
      await sql`select 1`.execute(storage.db);
    } finally {
      await storage.close();
    }
  });

  it('lets SQLite create -wal and -shm with the database file mode', async () => {
    const file = path.join(tempDir(), 'warden.db');
    const storage = openDatabase(`sqlite:${file}`);
    try {
      await sql`create table t (x integer)`.execute(storage.db);
      await sql`insert into t values (1)`.execute(storage.db);
      expect(existsSync(`${file}-wal`)).toBe(true);
      expect(modeOf(`${file}-wal`)).toBe(0o600);
      expect(modeOf(`${file}-shm`)).toBe(0o600);
    } finally {
      await storage.close();
    }
  });

  it('leaves an owner-only database file as it is', async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'data'), { mode: 0o750 });
    const file = path.join(dir, 'data', 'warden.db');
    await openAndClose(file);
    chmodSync(file, 0o600);
    await openAndClose(file);
    expect(modeOf(file)).toBe(0o600);
    expect(modeOf(path.join(dir, 'data'))).toBe(0o750);
  });
});
