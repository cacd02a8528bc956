import { describe, expect, it } from 'vitest';
import { chainLengthThrough, findCycle, resolveRole, type RoleNode } from '../../src/authz/role-graph.js';

function graph(...nodes: [string, string[], string[]][]): Map<string, RoleNode> {
  return new Map(nodes.map(([name, permissions, inherits]) => [name, { name, permissions, inherits }]));
}

describe('role inheritance', () => {
  const roles = graph(['reader', ['*:read'], []], ['member', ['keys:write'], ['reader']], ['lead', ['users:write'], ['member']]);

  it('resolves own and inherited permissions with the chain they came through', () => {
    expect(resolveRole(roles, 'lead')).toEqual([
      { permission: 'users:write', role: 'lead', via: ['lead'] },
      { permission: 'keys:write', role: 'member', via: ['lead', 'member'] },
      { permission: '*:read', role: 'reader', via: ['lead', 'member', 'reader'] },
    ]);
  });

  it('grants nothing for an unknown role and skips unknown parents', () => {
    expect(resolveRole(roles, 'ghost')).toEqual([]);
    expect(resolveRole(graph(['a', ['x:read'], ['gone']]), 'a')).toEqual([{ permission: 'x:read', role: 'a', via: ['a'] }]);
  });

  it('terminates on a cycle that reached storage anyway', () => {
    const cyclic = graph(['a', ['x:read'], ['b']], ['b', ['y:read'], ['a']]);
    expect(resolveRole(cyclic, 'a').map((r) => r.permission)).toEqual(['x:read', 'y:read']);
  });

  it('a diamond grants each role once', () => {
    const diamond = graph(['top', [], ['l', 'r']], ['l', ['l:read'], ['base']], ['r', ['r:read'], ['base']], ['base', ['b:read'], []]);
    expect(resolveRole(diamond, 'top').map((r) => r.permission)).toEqual(['l:read', 'b:read', 'r:read']);
  });
});

describe('cycle detection', () => {
  const roles = graph(['a', [], ['b']], ['b', [], ['c']], ['c', [], []]);
  it('finds a direct self-reference', () => expect(findCycle(roles, 'x', ['x'])).toEqual(['x', 'x']));
  it('finds a long cycle and reports its path', () => expect(findCycle(roles, 'c', ['a'])).toEqual(['c', 'a', 'b', 'c']));
  it('accepts a DAG', () => {
    expect(findCycle(roles, 'd', ['a', 'c'])).toBeUndefined();
    expect(findCycle(roles, 'a', ['c'])).toBeUndefined();
  });
});

describe('inheritance depth', () => {
  /** r0 ← r1 ← … ← r(n-1): each role inherits the one before it. */
  const chain = (n: number): Map<string, RoleNode> => graph(...Array.from({ length: n }, (_, i): [string, string[], string[]] => [`r${i}`, [], i === 0 ? [] : [`r${i - 1}`]]));

  it('counts the roles on the longest chain through a role, heirs above and parents below', () => {
    const roles = chain(10);
    expect(chainLengthThrough(roles, 'r0')).toBe(10);
    expect(chainLengthThrough(roles, 'r9')).toBe(10);
    expect(chainLengthThrough(roles, 'r4')).toBe(10);
    expect(chainLengthThrough(graph(['lonely', [], []]), 'lonely')).toBe(1);
    // A diamond is two chains of three, not four.
    const diamond = graph(['top', [], ['l', 'r']], ['l', [], ['base']], ['r', [], ['base']], ['base', [], []]);
    expect(chainLengthThrough(diamond, 'l')).toBe(3);
  });

  it('stops counting past the limit on a depth bomb or a stored cycle', () => {
    expect(chainLengthThrough(chain(5_000), 'r2500', 32)).toBe(33);
    const cyclic = graph(['a', [], ['b']], ['b', [], ['a']]);
    expect(chainLengthThrough(cyclic, 'a', 32)).toBe(33);
  });
});
