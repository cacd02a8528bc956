import { chmodSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPrivateDirs, DirectoryCreationError } from '../../src/storage/private-dirs.js';
import { procIsProcfs, runWithSources } from '../helpers/child-module.js';
import { scratchDirs } from '../helpers/scratch-dirs.js';

const scratch = scratchDirs('warden-private-dirs-');

function modeOf(dir: string): number {
  return statSync(dir).mode & 0o7777;
}

function failureOf(work: () => void): DirectoryCreationError {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(DirectoryCreationError);
    return error as DirectoryCreationError;
  }
  throw new Error('expected a DirectoryCreationError');
}

describe('createPrivateDirs', () => {
  const umask = process.umask();
  afterEach(() => {
    process.umask(umask);
  });

  it('creates every missing directory 0700 whatever the umask, and leaves existing ones as they are', () => {
    const root = scratch();
    chmodSync(root, 0o755);
    // mkdir alone would give 0500 under this umask.
    process.umask(0o277);
    createPrivateDirs(path.join(root, 'a', 'b', 'c'));
    process.umask(umask);
    for (const dir of ['a', 'a/b', 'a/b/c']) expect(modeOf(path.join(root, dir))).toBe(0o700);
    expect(modeOf(root)).toBe(0o755);
  });

  it('does nothing to a directory that exists, nor to the one a symlink on the way points to', () => {
    const root = scratch();
    mkdirSync(path.join(root, 'real'), { mode: 0o750 });
    chmodSync(path.join(root, 'real'), 0o750);
    symlinkSync(path.join(root, 'real'), path.join(root, 'link'));
    createPrivateDirs(path.join(root, 'real'));
    createPrivateDirs(path.join(root, 'link', 'data'));
    expect(modeOf(path.join(root, 'real'))).toBe(0o750);
    expect(modeOf(path.join(root, 'real', 'data'))).toBe(0o700);
  });

  it('accepts a relative path (resolved against the working directory)', () => {
    const root = scratch();
    const relative = path.relative(process.cwd(), path.join(root, 'rel', 'dir'));
    createPrivateDirs(relative);
    expect(modeOf(path.join(root, 'rel', 'dir'))).toBe(0o700);
  });

  it('a file in the way is ENOTDIR naming it, whether it is the directory asked for or a parent', () => {
    const root = scratch();
    const file = path.join(root, 'a-file');
    writeFileSync(file, '');
    const itself = failureOf(() => createPrivateDirs(file));
    expect(itself.code).toBe('ENOTDIR');
    expect(itself.message).toBe(
      `ENOTDIR: cannot create directory '${file}': it exists and is not a directory`,
    );
    const parent = failureOf(() => createPrivateDirs(path.join(file, 'data', 'x')));
    expect(parent.code).toBe('ENOTDIR');
    expect(parent.message).toBe(
      `ENOTDIR: cannot create directory '${path.join(file, 'data', 'x')}': '${file}' exists and is not a directory`,
    );
  });

  it('refuses a symlink to a missing target instead of creating a directory where it points', () => {
    const root = scratch();
    const link = path.join(root, 'dangling');
    symlinkSync(path.join(root, 'nowhere'), link);
    expect(failureOf(() => createPrivateDirs(path.join(link, 'data'))).message).toMatch(
      /'.*dangling' is a symbolic link to a missing target$/,
    );
    expect(() => statSync(path.join(root, 'nowhere'))).toThrow(/ENOENT/);
  });

  // Root may create directories anywhere.
  it.skipIf(process.getuid?.() === 0)('passes on other errors of mkdir as they are (e.g. EACCES)', () => {
    const root = scratch();
    chmodSync(root, 0o500);
    expect(() => createPrivateDirs(path.join(root, 'x'))).toThrow(/EACCES/);
    chmodSync(root, 0o700);
  });
});

const procfs = procIsProcfs();
if (!procfs) {
  const bar = '!'.repeat(78);
  console.warn(
    `\n${bar}\n!! SKIPPING the /proc directory tests: /proc is not procfs on this system.\n${bar}\n`,
  );
}

describe.skipIf(!procfs)('a directory under /proc (procfs answers mkdir with ENOENT)', () => {
  it('fails at once with ENOENT naming the directory, instead of looping for ever', async () => {
    // In a child process: libuv's recursive mkdir spun in one synchronous call, which would
    // also have stopped this test's timeout from firing.
    const dir = `/proc/warden-test-${process.pid}/data`;
    const result = await runWithSources(
      ['storage/private-dirs.ts'],
      `import { createPrivateDirs } from './storage/private-dirs.js';
       try { createPrivateDirs(${JSON.stringify(dir)}); console.log(JSON.stringify({ created: true })); }
       catch (error) { console.log(JSON.stringify({ name: error.name, code: error.code, path: error.path, message: error.message })); }`,
      10_000,
    );
    expect(result.timedOut, 'createPrivateDirs under /proc hung (killed after 10 s)').toBe(false);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      name: 'DirectoryCreationError',
      code: 'ENOENT',
      path: `/proc/warden-test-${process.pid}`,
      message: `ENOENT: cannot create directory '/proc/warden-test-${process.pid}': mkdir answered "no such file or directory" although '/proc' exists: that file system does not allow creating directories (a virtual one such as /proc)`,
    });
  });
});
