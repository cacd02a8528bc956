import { closeSync, constants, fchmodSync, fstatSync, openSync, readSync } from 'node:fs';
import { tightenToOwnerOnly } from '../storage/owner-only-mode.js';

/**
 * Largest secret file read (NAME_FILE, a secrets directory, the file provider): keys,
 * passwords, tokens, a PEM chain or a small JSON document fit many times over; AWS Secrets
 * Manager caps a secret at the same 64 KiB.
 */
export const MAX_SECRET_FILE_BYTES = 64 * 1024;

/** Why a secret file was not read: its text names the path, never any content. */
export class SecretFileError extends Error {
  constructor(readonly problem: string) {
    super(problem);
    this.name = 'SecretFileError';
  }
}

/**
 * Reads a secret file synchronously, without its one trailing newline. Refuses what is not a
 * regular file (`/dev/zero`, a FIFO, a directory: some never end) and files larger than
 * MAX_SECRET_FILE_BYTES, checked on the opened descriptor and while reading, so at most one
 * byte past the bound is ever read. With `ownerOnly` (a file Warden itself keeps), a symbolic
 * link is refused rather than followed and a mode open to group or others is tightened to 0600;
 * without it a link is followed, as /run/secrets entries often are links. Other errors from the
 * file system (ENOENT…) pass through.
 */
export function readSecretFileSync(file: string, options: { ownerOnly?: boolean } = {}): string {
  const ownerOnly = options.ownerOnly === true;
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO would otherwise wait for a writer for ever; a regular file ignores it.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | (ownerOnly ? constants.O_NOFOLLOW : 0));
  } catch (error) {
    if (ownerOnly && (error as NodeJS.ErrnoException).code === 'ELOOP') throw new SecretFileError('is a symbolic link');
    throw error;
  }
  try {
    // Through the descriptor, so the file checked (and tightened) is the file read.
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new SecretFileError('is not a regular file');
    if (ownerOnly) tightenToOwnerOnly(stats.mode, () => fchmodSync(fd, 0o600));
    const buffer = Buffer.alloc(MAX_SECRET_FILE_BYTES + 1);
    let length = 0;
    for (;;) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
      if (length > MAX_SECRET_FILE_BYTES) throw new SecretFileError(`is larger than ${MAX_SECRET_FILE_BYTES} bytes`);
    }
    // Secret files conventionally end with a newline that is not part of the secret.
    return buffer.subarray(0, length).toString('utf8').replace(/\r?\n$/, '');
  } finally {
    closeSync(fd);
  }
}
