import { isPermission } from './permission-match.js';

/**
 * The coarse permissions of older systems and what each means in `resource:action` form.
 * One table, also rendered in docs/authorization.md. `write` implies `read` because every
 * system we import from treated it so; `manage` is everything except `admin`-only actions,
 * which in Warden means read/write/delete on every resource.
 */
export const COARSE_PERMISSIONS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  read: Object.freeze(['*:read']),
  write: Object.freeze(['*:read', '*:write']),
  delete: Object.freeze(['*:delete']),
  manage: Object.freeze(['*:read', '*:write', '*:delete']),
  admin: Object.freeze(['*:*']),
});

/**
 * Canonical permissions for a list that may hold coarse names: coarse names are expanded,
 * duplicates dropped, order kept. Returns the offending entries when any is neither.
 */
export function normalizePermissions(input: readonly string[]): { ok: true; permissions: string[] } | { ok: false; invalid: string[] } {
  const out = new Set<string>();
  const invalid: string[] = [];
  for (const entry of input) {
    const coarse = Object.hasOwn(COARSE_PERMISSIONS, entry) ? COARSE_PERMISSIONS[entry] : undefined;
    if (coarse !== undefined) for (const p of coarse) out.add(p);
    else if (isPermission(entry)) out.add(entry);
    else invalid.push(entry);
  }
  return invalid.length > 0 ? { ok: false, invalid } : { ok: true, permissions: [...out] };
}
