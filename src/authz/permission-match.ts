/**
 * Permission strings are `resource:action`; either segment of a *granted* permission may be
 * `*` (`keys:*`, `*:read`, `*:*`). A *required* permission is always concrete.
 */
const SEGMENT = /^(\*|[a-z][a-z0-9_.-]{0,62})$/;

/** True when `value` is a well-formed permission (wildcards allowed). */
export function isPermission(value: string): boolean {
  const parts = value.split(':');
  return parts.length === 2 && parts.every((p) => SEGMENT.test(p));
}

/** True when the granted permission covers the required one. */
export function permissionCovers(granted: string, required: string): boolean {
  const g = granted.split(':');
  const r = required.split(':');
  if (g.length !== 2 || r.length !== 2) return false;
  return (g[0] === '*' || g[0] === r[0]) && (g[1] === '*' || g[1] === r[1]);
}

/** True when any granted permission covers the required one. */
export function anyCovers(granted: Iterable<string>, required: string): boolean {
  for (const g of granted) if (permissionCovers(g, required)) return true;
  return false;
}
