import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSecureTempFile, pathExists, privateTempDir, sweepSecureTempFiles, withSecureTempFile } from '../../src/crypto/secure-temp.js';
import { procIsProcfs, runWithSources } from '../helpers/child-module.js';

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

  it('makes missing parents 0700 too, whatever the umask', () => {
    const umask = process.umask(0o277);
    try {
      privateTempDir(path.join(dir, 'nested'));
    } finally {
      process.umask(umask);
    }
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(dir, 'nested')).mode & 0o777).toBe(0o700);
  });

  it('refuses a path where a file is in the way, naming it', () => {
    writeFileSync(path.join(root, 'a-file'), '');
    expect(() => privateTempDir(path.join(root, 'a-file', 'tmp'))).toThrow(/^ENOTDIR: cannot create directory '.*a-file\/tmp': '.*a-file' exists and is not a directory$/);
  });
});

const procfs = procIsProcfs();
if (!procfs) {
  const bar = '!'.repeat(78);
  console.warn(`\n${bar}\n!! SKIPPING the /proc secure-temp test: /proc is not procfs on this system.\n${bar}\n`);
}

describe.skipIf(!procfs)('a private temp directory under /proc', () => {
  it('fails at once naming the directory, instead of hanging in mkdir', async () => {
    // In a child process: the recursive mkdir this replaced spun for ever in one synchronous
    // call, which would also have stopped this test's timeout from firing.
    const result = await runWithSources(
      ['crypto/secure-temp.ts', 'storage/private-dirs.ts'],
      `import { privateTempDir } from './crypto/secure-temp.js';
       try { privateTempDir('/proc/warden-temp-${process.pid}'); console.log('created'); }
       catch (error) { console.log(error.code + ' ' + error.message); }`,
      10_000,
    );
    expect(result.timedOut, 'privateTempDir under /proc hung (killed after 10 s)').toBe(false);
    expect(result.stdout.trim()).toMatch(/^ENOENT ENOENT: cannot create directory '\/proc\/warden-temp-\d+': .*does not allow creating directories/);
  });
});
