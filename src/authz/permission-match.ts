import { boundedMemo } from '../cache/bounded-memo.js';

/**
 * Permission strings are `resource:action`; either segment of a *granted* permission may be
 * `*` (`keys:*`, `*:read`, `*:*`). A *required* permission is always concrete.
 */
const SEGMENT = /^(\*|[a-z][a-z0-9_.-]{0,62})$/;

/**
 * True when `value` is a well-formed permission (wildcards allowed). Every guarded request
 * checks its route's permission, so answers are memoised (bounded: /v1/authz/check lets
 * callers send any string).
 */
export const isPermission: (value: string) => boolean = boundedMemo((value) => {
  const parts = value.split(':');
  return parts.length === 2 && parts.every((p) => SEGMENT.test(p));
}, 10_000);

/** True when the granted permission covers the required one; a malformed one on either side covers nothing. */
export function permissionCovers(granted: string, required: string): boolean {
  // A library caller may pass any string (`keys:re*d`, `Keys:read`, ` : `): it must not be
  // covered by a wildcard grant. isPermission is memoised, so this costs two map reads.
  if (!isPermission(granted) || !isPermission(required)) return false;
  // Compared in place, without splitting: this runs for every permission a key carries on
  // every request the key makes. Both are well-formed, so each has exactly one ':'.
  const g = granted.indexOf(':');
  const r = required.indexOf(':');
  const resource = (g === 1 && granted.charCodeAt(0) === STAR) || sameRegion(granted, 0, g, required, 0, r);
  if (!resource) return false;
  return (granted.length - g === 2 && granted.charCodeAt(g + 1) === STAR) || sameRegion(granted, g + 1, granted.length, required, r + 1, required.length);
}

const STAR = 42; // '*'

function sameRegion(a: string, aStart: number, aEnd: number, b: string, bStart: number, bEnd: number): boolean {
  if (aEnd - aStart !== bEnd - bStart) return false;
  for (let i = 0; i < aEnd - aStart; i++) if (a.charCodeAt(aStart + i) !== b.charCodeAt(bStart + i)) return false;
  return true;
}

/** True when any granted permission covers the required one. */
export function anyCovers(granted: Iterable<string>, required: string): boolean {
  for (const g of granted) if (permissionCovers(g, required)) return true;
  return false;
}
