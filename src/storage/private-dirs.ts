// Only node: imports. src/crypto/secure-temp.ts and src/config/dev-secrets.ts share this helper,
// and the tests run it in a child process from its transpiled source alone (a hang there must
// not hang the suite), which works only while it needs no other module of Warden.
import { chmodSync, lstatSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * A directory on the way to the one asked for cannot be created, for a reason the operating
 * system's own error would not make plain. `code` is the errno code the failure amounts to
 * (ENOTDIR: something else is in the way; ENOENT: the file system refuses directories there),
 * so callers that test `code` treat it like the error of a plain mkdir.
 */
export class DirectoryCreationError extends Error {
  readonly code: 'ENOTDIR' | 'ENOENT';
  /** The directory that could not be created (or that is in the way). */
  readonly path: string;

  constructor(code: 'ENOTDIR' | 'ENOENT', dir: string, why: string, cause?: unknown) {
    super(`${code}: cannot create directory '${dir}': ${why}`, cause === undefined ? undefined : { cause });
    this.name = 'DirectoryCreationError';
    this.code = code;
    this.path = dir;
  }
}

/**
 * Creates `dir` and its missing parents 0700. Directories that already exist are left alone:
 * they may be shared (the working directory, /tmp), and chmod on one Warden does not own
 * fails with EPERM and stopped the start. What Warden keeps in them is protected by its own
 * file mode (0600) instead.
 *
 * Deliberately not `mkdirSync(dir, { recursive: true })`: libuv's recursive mkdir retries a
 * component for ever when mkdir answers ENOENT although its parent exists, as procfs does
 * (`sqlite:/proc/x/warden.db` hung `warden migrate`). Here each missing component is made
 * once, top down, and such an answer is an error naming the directory.
 */
export function createPrivateDirs(dir: string): void {
  const target = path.resolve(dir);
  // Bottom up with stat, not mkdir, to the nearest directory that exists: existing ones are
  // never touched, and stat follows symlinks, as a path through /var -> /private/var must.
  const missing: string[] = [];
  for (let current = target; !isExistingDirectory(current, target); current = path.dirname(current)) {
    missing.push(current);
    // The root always exists; reaching it here would mean stat lied.
    if (path.dirname(current) === current) break;
  }
  for (const component of missing.reverse()) {
    try {
      mkdirSync(component, { mode: 0o700 });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Created by someone else meanwhile (another Warden starting): theirs, so left as it is.
      if (code === 'EEXIST' && isExistingDirectory(component, target)) continue;
      if (code === 'ENOENT') {
        throw new DirectoryCreationError(
          'ENOENT',
          component,
          `mkdir answered "no such file or directory" although '${path.dirname(component)}' exists: that file system does not allow creating directories (a virtual one such as /proc)`,
          error,
        );
      }
      throw error;
    }
    // mkdir's mode is filtered by the umask; chmod makes exactly the directories made here 0700.
    chmodSync(component, 0o700);
  }
}

/**
 * Whether `candidate` is an existing directory (through symlinks); false when it is missing or
 * a parent of it is not a directory (the walk up finds that parent). Something else in its
 * place is a DirectoryCreationError, reported against `target`, the directory asked for.
 */
function isExistingDirectory(candidate: string, target: string): boolean {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(candidate).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') return false;
    if (code !== 'ENOENT') throw error;
    // A symlink whose target is missing: mkdir would answer EEXIST, and following it would create
    // a directory wherever it points.
    if (isSymbolicLink(candidate)) {
      const what = candidate === target ? 'it' : `'${candidate}'`;
      throw new DirectoryCreationError(
        'ENOTDIR',
        target,
        `${what} is a symbolic link to a missing target`,
        error,
      );
    }
    return false;
  }
  if (isDirectory) return true;
  const what = candidate === target ? 'it' : `'${candidate}'`;
  throw new DirectoryCreationError('ENOTDIR', target, `${what} exists and is not a directory`);
}

function isSymbolicLink(candidate: string): boolean {
  try {
    return lstatSync(candidate).isSymbolicLink();
  } catch {
    return false;
  }
}
