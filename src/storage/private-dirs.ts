import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Creates `dir` and its missing parents 0700. Directories that already exist are left alone:
 * they may be shared (the working directory, /tmp), and chmod on one Warden does not own
 * fails with EPERM and stopped the start. What Warden keeps in them is protected by its own
 * file mode (0600) instead.
 */
export function createPrivateDirs(dir: string): void {
  const target = path.resolve(dir);
  const firstCreated = mkdirSync(target, { recursive: true, mode: 0o700 });
  if (firstCreated === undefined) return;
  // mkdir's mode is filtered by the umask; chmod makes exactly the new ones 0700, walking up
  // from `dir` and never above the first directory mkdir created.
  const created = path.resolve(firstCreated);
  for (let current = target; current.length >= created.length; current = path.dirname(current)) {
    chmodSync(current, 0o700);
    if (current === created || path.dirname(current) === current) break;
  }
}
