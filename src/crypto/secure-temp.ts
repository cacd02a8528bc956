import { randomBytes } from 'node:crypto';
import { lstatSync } from 'node:fs';
import { lstat, open, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createPrivateDirs } from '../storage/private-dirs.js';

export interface SecureTempOptions {
  /** Private directory (created 0700, must be owned by us and not group/world accessible). @default <os tmpdir>/warden-<uid> */
  readonly dir?: string;
}

/** A temp file that only this user can read: created 0600 with O_EXCL, in a private directory. */
export interface SecureTempFile {
  readonly path: string;
  /** Deletes the file (idempotent). */
  remove(): Promise<void>;
}

/** The private temp directory, created 0700 if missing; refuses a directory others can enter. */
export function privateTempDir(dir?: string): string {
  const target = dir ?? path.join(os.tmpdir(), `warden-${process.getuid?.() ?? 'user'}`);
  // Not mkdirSync's recursive mode, which hangs under /proc (see createPrivateDirs); the
  // directories made here are 0700 whatever the umask, and existing ones are checked below.
  createPrivateDirs(target);
  // lstat, not stat: anyone can plant /tmp/warden-<uid> as a symlink to one of our own 0700
  // directories (~/.ssh), and the sweeper would then delete the files there.
  const info = lstatSync(target);
  if (info.isSymbolicLink()) throw new TypeError(`${target} is a symbolic link; refusing to put secrets there`);
  if (!info.isDirectory()) throw new TypeError(`${target} is not a directory`);
  if ((info.mode & 0o077) !== 0) throw new TypeError(`${target} is accessible to other users (mode ${(info.mode & 0o777).toString(8)}); refusing to put secrets there`);
  if (process.getuid !== undefined && info.uid !== process.getuid()) throw new TypeError(`${target} is owned by another user`);
  return target;
}

// A prefix is part of a file name: "/" or ".." in it would place the file outside the private directory.
const PREFIX = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;

/** Creates an empty temp file with mode 0600 and exclusive create ('wx'), so nothing pre-planted is ever reused. */
export async function createSecureTempFile(options: SecureTempOptions & { prefix?: string; contents?: string | Uint8Array } = {}): Promise<SecureTempFile> {
  const prefix = options.prefix ?? 'tmp';
  if (!PREFIX.test(prefix)) throw new TypeError('a temp file prefix is 1-64 characters of A-Z a-z 0-9 . _ - (not starting with a dot)');
  const dir = privateTempDir(options.dir);
  const file = path.join(dir, `${prefix}-${randomBytes(12).toString('hex')}`);
  const handle = await open(file, 'wx', 0o600);
  try {
    if (options.contents !== undefined) await handle.writeFile(options.contents);
  } catch (error) {
    // A partly written secret must not be left behind for the sweeper (up to 24 h later).
    await handle.close();
    await rm(file, { force: true });
    throw error;
  }
  await handle.close();
  return { path: file, remove: () => rm(file, { force: true }) };
}

/** Runs `work` with a fresh secure temp file and deletes the file afterwards, even when `work` throws. */
export async function withSecureTempFile<T>(
  work: (file: string) => Promise<T>,
  options: SecureTempOptions & { prefix?: string; contents?: string | Uint8Array } = {},
): Promise<T> {
  const temp = await createSecureTempFile(options);
  try {
    return await work(temp.path);
  } finally {
    await temp.remove();
  }
}

export interface SweepOptions extends SecureTempOptions {
  /** Files older than this are removed. @default 24 h */
  readonly maxAgeMs?: number;
  /** Clock in epoch ms. @default Date.now */
  readonly now?: () => number;
}

/**
 * Removes regular files in the private temp directory older than `maxAgeMs` (by mtime), e.g.
 * leftovers of a crashed process. Symlinks and directories are never followed or removed.
 * Returns the number of files removed.
 */
export async function sweepSecureTempFiles(options: SweepOptions = {}): Promise<number> {
  const dir = privateTempDir(options.dir);
  const cutoff = (options.now ?? Date.now)() - (options.maxAgeMs ?? 24 * 60 * 60 * 1000);
  let removed = 0;
  for (const name of await readdir(dir)) {
    const file = path.join(dir, name);
    const info = await lstat(file).catch(() => undefined);
    if (info === undefined || !info.isFile() || info.mtimeMs >= cutoff) continue;
    await rm(file, { force: true });
    removed += 1;
  }
  return removed;
}

/** Runs the sweeper now and then every `intervalMs` (default 1 h); returns a function that stops it. */
export function startSecureTempSweeper(options: SweepOptions & { intervalMs?: number; onError?: (error: Error) => void } = {}): () => void {
  const tick = (): void => {
    sweepSecureTempFiles(options).catch((error: unknown) => options.onError?.(error as Error));
  };
  tick();
  const timer = setInterval(tick, options.intervalMs ?? 60 * 60 * 1000);
  timer.unref();
  return () => clearInterval(timer);
}

/** Whether a path exists (for callers that check a temp file was cleaned up). */
export async function pathExists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
