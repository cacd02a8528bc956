import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSecureTempFile, pathExists, privateTempDir, sweepSecureTempFiles, withSecureTempFile } from '../../src/crypto/secure-temp.js';

let root: string;
let dir: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'warden-securetemp-'));
  dir = path.join(root, 'private');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('secure temp files', () => {
  it('creates files 0600 in a 0700 directory and deletes them after use, even on error', async () => {
    let seen = '';
    const result = await withSecureTempFile(
      async (file) => {
        seen = file;
        expect(statSync(file).mode & 0o777).toBe(0o600);
        expect(readFileSync(file, 'utf8')).toBe('secret');
        return 42;
      },
      { dir, contents: 'secret' },
    );
    expect(result).toBe(42);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(await pathExists(seen)).toBe(false);
    await expect(
      withSecureTempFile(async (file) => {
        seen = file;
        throw new Error('boom');
      }, { dir }),
    ).rejects.toThrow('boom');
    expect(await pathExists(seen)).toBe(false);
  });

  it('refuses a directory other users can enter', () => {
    privateTempDir(dir);
    chmodSync(dir, 0o755);
    expect(() => privateTempDir(dir)).toThrow(/accessible to other users/);
  });

  it('sweeps regular files older than the limit on the injected clock, never symlinks', async () => {
    const now = Date.now();
    const old = await createSecureTempFile({ dir });
    const fresh = await createSecureTempFile({ dir });
    utimesSync(old.path, new Date(now - 25 * 3600_000), new Date(now - 25 * 3600_000));
    const outside = path.join(root, 'outside');
    writeFileSync(outside, 'keep');
    utimesSync(outside, new Date(now - 48 * 3600_000), new Date(now - 48 * 3600_000));
    symlinkSync(outside, path.join(dir, 'link'));
    expect(await sweepSecureTempFiles({ dir, now: () => now })).toBe(1);
    expect(await pathExists(old.path)).toBe(false);
    expect(await pathExists(fresh.path)).toBe(true);
    expect(await pathExists(outside)).toBe(true);
    expect(await sweepSecureTempFiles({ dir, now: () => now + 2 * 3600_000, maxAgeMs: 3600_000 })).toBe(1);
    expect(await pathExists(fresh.path)).toBe(false);
  });

  it('refuses a private directory that is a symlink, so the sweeper cannot delete files elsewhere', async () => {
    // e.g. /tmp/warden-<uid> planted by another user as a link to the victim's ~/.ssh (0700, owned by the victim)
    const victim = path.join(root, 'ssh');
    mkdirSync(victim, { mode: 0o700 });
    const keyFile = path.join(victim, 'id_ed25519');
    writeFileSync(keyFile, 'key');
    const now = Date.now();
    utimesSync(keyFile, new Date(now - 48 * 3600_000), new Date(now - 48 * 3600_000));
    symlinkSync(victim, dir);
    expect(() => privateTempDir(dir)).toThrow(/symbolic link/);
    await expect(sweepSecureTempFiles({ dir, now: () => now })).rejects.toThrow(/symbolic link/);
    await expect(createSecureTempFile({ dir })).rejects.toThrow(/symbolic link/);
    expect(await pathExists(keyFile)).toBe(true);
  });

  it('refuses a prefix that would put the file outside the private directory', async () => {
    for (const prefix of ['../escape', 'a/b', '.hidden', '']) await expect(createSecureTempFile({ dir, prefix })).rejects.toThrow(TypeError);
    expect(readdirSync(root)).not.toContain('escape');
    const ok = await createSecureTempFile({ dir, prefix: 'key.v1' });
    expect(path.dirname(ok.path)).toBe(dir);
  });

  it('does not leave a file behind when writing its contents fails', async () => {
    // A value the file handle cannot write (as from untyped JavaScript callers).
    await expect(createSecureTempFile({ dir, contents: 42 as unknown as string })).rejects.toThrow();
    expect(readdirSync(dir)).toEqual([]);
  });
});
