/**
 * The most roles one inheritance chain may pass through, the assigned role included. Without
 * a bound a `roles:write` holder can build a chain thousands deep: every resolution then
 * copies an O(depth) `via` path per role (O(depth²) per cache miss) and recursion can
 * overflow the stack, failing every check of every holder.
 */
export const MAX_INHERITANCE_DEPTH = 32;

/** What the graph needs to know about a role. */
export interface RoleNode {
  readonly name: string;
  readonly permissions: readonly string[];
  readonly inherits: readonly string[];
}

/** A permission and the role it was granted by (`via` = the chain from the assigned role). */
export interface ResolvedPermission {
  readonly permission: string;
  /** The role that lists the permission. */
  readonly role: string;
  /** Assigned role first, then each inherited role down to `role`. */
  readonly via: readonly string[];
}

/**
 * Every permission a role grants, its own and inherited, depth first. Unknown parents are
 * skipped (a parent deleted meanwhile grants nothing), and a visited set makes a cycle that
 * somehow reached the database terminate instead of hanging a request.
 */
export function resolveRole(roles: ReadonlyMap<string, RoleNode>, assigned: string): ResolvedPermission[] {
  const out: ResolvedPermission[] = [];
  const visited = new Set<string>();
  const walk = (name: string, via: readonly string[]): void => {
    if (visited.has(name)) return;
    visited.add(name);
    const role = roles.get(name);
    if (role === undefined) return;
    const chain = [...via, name];
    for (const permission of role.permissions) out.push({ permission, role: name, via: chain });
    for (const parent of role.inherits) walk(parent, chain);
  };
  walk(assigned, []);
  return out;
}

/**
 * The cycle that giving `name` the parents `inherits` would create, as a path
 * (`[a, b, a]`), or undefined when there is none. Unknown parents are the caller's problem.
 */
export function findCycle(roles: ReadonlyMap<string, RoleNode>, name: string, inherits: readonly string[]): string[] | undefined {
  // A cycle exists iff `name` is reachable from one of its new parents.
  const stack: { role: string; path: string[] }[] = inherits.map((parent) => ({ role: parent, path: [name, parent] }));
  const seen = new Set<string>();
  while (stack.length > 0) {
    const { role, path } = stack.pop() as { role: string; path: string[] };
    if (role === name) return path;
    if (seen.has(role)) continue;
    seen.add(role);
    for (const parent of roles.get(role)?.inherits ?? []) stack.push({ role: parent, path: [...path, parent] });
  }
  return undefined;
}

/**
 * The number of roles on the longest inheritance chain through `name` (its heirs above it,
 * its parents below), counted up to `limit + 1` and no further: walks level by level, so the
 * work is bounded by `limit` levels even on a deep or (in stored data) cyclic graph.
 */
export function chainLengthThrough(roles: ReadonlyMap<string, RoleNode>, name: string, limit: number = MAX_INHERITANCE_DEPTH): number {
  const heirs = new Map<string, string[]>();
  for (const role of roles.values()) {
    for (const parent of role.inherits) {
      const list = heirs.get(parent);
      if (list === undefined) heirs.set(parent, [role.name]);
      else list.push(role.name);
    }
  }
  const levels = (next: (role: string) => readonly string[]): number => {
    let frontier = new Set([name]);
    let count = 0;
    while (frontier.size > 0 && count <= limit) {
      count += 1;
      const following = new Set<string>();
      for (const role of frontier) for (const other of next(role)) if (roles.has(other)) following.add(other);
      frontier = following;
    }
    return count;
  };
  const below = levels((role) => roles.get(role)?.inherits ?? []);
  const above = levels((role) => heirs.get(role) ?? []);
  return Math.min(above + below - 1, limit + 1);
}

/**
 * The roles named in `starts` and every role they inherit from, transitively: the rows from
 * which what they grant is computed. Names not in `roles` are included (their absence is a fact a
 * decision rested on too), and their parents, unknown, are not.
 */
export function lineage(roles: ReadonlyMap<string, RoleNode>, starts: Iterable<string>): Set<string> {
  const seen = new Set<string>();
  const stack = [...starts];
  while (stack.length > 0) {
    const name = stack.pop() as string;
    if (seen.has(name)) continue;
    seen.add(name);
    stack.push(...(roles.get(name)?.inherits ?? []));
  }
  return seen;
}
