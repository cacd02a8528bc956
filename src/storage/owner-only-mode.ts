/**
 * Sets 0600 through `chmod` when the mode gives group or others any access; leaves an
 * owner-only file as it is. Used on files that hold data or secrets when they are opened, so
 * a copy or an umask that loosened them is tightened on the next start.
 */
export function tightenToOwnerOnly(mode: number, chmod: () => void): void {
  if ((mode & 0o077) === 0) return;
  try {
    chmod();
  } catch (error) {
    // Another user's file that we may use through its group: its mode is its owner's decision,
    // and refusing to start here would repeat the EPERM failure of chmod on shared directories.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
  }
}
