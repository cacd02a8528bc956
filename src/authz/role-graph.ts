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
