import { isPermission } from './permission-match.js';

/**
 * A compiled list of granted permissions: `covers` answers in O(1) whatever the list's
 * length (a user with 1,000 roles may hold hundreds of permissions, and `anyCovers` would
 * split each of them on every request). Same semantics as `permissionCovers`.
 */
export class PermissionSet {
  readonly #exact = new Set<string>();
  /** Resources granted with action `*` (`keys:*`). */
  readonly #anyAction = new Set<string>();
  /** Actions granted on resource `*` (`*:read`). */
  readonly #anyResource = new Set<string>();
  #everything = false;

  constructor(granted: Iterable<string>) {
    for (const permission of granted) {
      if (!isPermission(permission)) continue;
      const [resource, action] = permission.split(':') as [string, string];
      if (resource === '*' && action === '*') this.#everything = true;
      else if (action === '*') this.#anyAction.add(resource);
      else if (resource === '*') this.#anyResource.add(action);
      else this.#exact.add(permission);
    }
  }

  /** True when some granted permission covers `required` (which may itself hold wildcards). */
  covers(required: string): boolean {
    // Malformed input covers nothing: without this, `keys:*` would cover `keys:` and
    // `*:read` would cover `:read` (empty segments), unlike permissionCovers.
    if (!isPermission(required)) return false;
    if (this.#everything) return true;
    const colon = required.indexOf(':');
    const resource = required.slice(0, colon);
    const action = required.slice(colon + 1);
    // A wildcard segment in `required` is only covered by a wildcard in the same segment.
    if (resource !== '*' && this.#anyAction.has(resource)) return true;
    if (action !== '*' && this.#anyResource.has(action)) return true;
    return this.#exact.has(required);
  }
}
