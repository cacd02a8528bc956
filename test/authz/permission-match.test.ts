import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COARSE_PERMISSIONS, normalizePermissions } from '../../src/authz/coarse-permissions.js';
import { isRoleDescription, isRoleName, isScope } from '../../src/authz/names.js';
import { anyCovers, isPermission, permissionCovers } from '../../src/authz/permission-match.js';
import { PermissionSet } from '../../src/authz/permission-set.js';

describe('permission wildcard matching', () => {
  const table: [granted: string, required: string, covers: boolean][] = [
    ['keys:write', 'keys:write', true],
    ['keys:write', 'keys:read', false],
    ['keys:read', 'users:read', false],
    ['keys:*', 'keys:write', true],
    ['keys:*', 'keys:read', true],
    ['keys:*', 'users:read', false],
    ['*:read', 'keys:read', true],
    ['*:read', 'audit:read', true],
    ['*:read', 'keys:write', false],
    ['*:*', 'metrics:read', true],
    ['*:*', 'anything:else', true],
    // wildcards only work per whole segment
    ['key*:write', 'keys:write', false],
    ['keys', 'keys:write', false],
    ['*', 'keys:write', false],
    ['keys:write:extra', 'keys:write', false],
    // a wildcard required permission is only covered by an equal or wider grant
    ['keys:read', '*:read', false],
    ['*:read', '*:read', true],
    ['*:*', 'keys:*', true],
    // a malformed permission on either side covers and is covered by nothing
    ['*:*', ' : ', false],
    ['keys:*', 'keys:WRITE', false],
    ['keys:*', 'keys:re*d', false],
    ['Keys:read', 'Keys:read', false],
  ];
  it.each(table)('%s covers %s: %s', (granted, required, covers) => {
    expect(permissionCovers(granted, required)).toBe(covers);
  });

  it('agrees with the segment-by-segment definition on any strings', () => {
    // The definition: exactly two well-formed segments each; a granted segment covers an equal one or is `*`.
    const wellFormed = (segment: string) => /^(\*|[a-z][a-z0-9_.-]{0,62})$/.test(segment);
    const reference = (granted: string, required: string): boolean => {
      const g = granted.split(':');
      const r = required.split(':');
      if (g.length !== 2 || r.length !== 2 || !g.every(wellFormed) || !r.every(wellFormed)) return false;
      return (g[0] === '*' || g[0] === r[0]) && (g[1] === '*' || g[1] === r[1]);
    };
    const segment = fc.constantFrom('*', 'keys', 'key', 'keys*', 'read', 'write', '', '**', 'k:');
    const permission = fc.tuple(segment, segment, fc.boolean()).map(([a, b, extra]) => `${a}:${b}${extra ? ':x' : ''}`);
    fc.assert(fc.property(fc.oneof(permission, fc.string()), fc.oneof(permission, fc.string()), (granted, required) => permissionCovers(granted, required) === reference(granted, required)), { numRuns: 5000 });
  });

  it('anyCovers agrees with PermissionSet on any input, malformed ones included', () => {
    const junk = fc.oneof(
      fc.string({ maxLength: 8 }),
      fc.tuple(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 })).map(([a, b]) => `${a}:${b}`),
      fc.constantFrom('*:*', 'keys:*', '*:read', 'keys:read', 'Keys:read', 'keys:re*d', ' : ', 'a:b:c'),
    );
    fc.assert(
      fc.property(fc.array(junk, { maxLength: 5 }), junk, (granted, required) => {
        expect(anyCovers(granted, required)).toBe(new PermissionSet(granted).covers(required));
        if (!isPermission(required)) expect(anyCovers(granted, required)).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('anyCovers is true when one grant covers', () => {
    expect(anyCovers(['users:read', 'keys:*'], 'keys:delete')).toBe(true);
    expect(anyCovers(['users:read'], 'keys:delete')).toBe(false);
    expect(anyCovers([], 'keys:read')).toBe(false);
  });

  it.each(['keys:write', '*:read', 'keys:*', '*:*', 'audit.log:read'])('%s is a permission', (p) => expect(isPermission(p)).toBe(true));
  it.each(['', 'keys', 'Keys:write', 'keys:', ':read', 'a:b:c', "keys:write'--", 'keys:<b>', 'ke ys:read'])('%j is not a permission', (p) =>
    expect(isPermission(p)).toBe(false),
  );

  it('answers the same for a permission seen before (the memo only holds well-formed ones)', () => {
    for (let i = 0; i < 3; i++) {
      expect(isPermission('reports:read')).toBe(true);
      expect(isPermission('reports:read:x')).toBe(false);
    }
    for (let i = 0; i < 12_000; i++) expect(isPermission(`r${i}:read`)).toBe(true);
    expect(isPermission('reports:read')).toBe(true);
  });
});

describe('coarse permissions', () => {
  it('map onto resource:action strings in one table', () => {
    expect(COARSE_PERMISSIONS).toEqual({
      read: ['*:read'],
      write: ['*:read', '*:write'],
      delete: ['*:delete'],
      manage: ['*:read', '*:write', '*:delete'],
      admin: ['*:*'],
    });
  });

  it('normalizePermissions expands coarse names, keeps fine ones, drops duplicates', () => {
    expect(normalizePermissions(['write', 'keys:write', '*:read'])).toEqual({ ok: true, permissions: ['*:read', '*:write', 'keys:write'] });
  });

  it('normalizePermissions reports invalid entries, including prototype names', () => {
    expect(normalizePermissions(['read', 'constructor', 'toString', 'bad perm'])).toEqual({ ok: false, invalid: ['constructor', 'toString', 'bad perm'] });
  });
});

describe('names', () => {
  it.each(['admin', 'tenant-admin', 'billing.reader', 'a', 'R2_D2', 'drop--table', 'x'.repeat(64)])('%j is a valid role name', (n) =>
    expect(isRoleName(n)).toBe(true),
  );
  it.each(['', '-lead', "'; DROP TABLE roles; --", '<script>alert(1)</script>', 'a b', 'x'.repeat(65), 'tab\there', 'nul\u0000', 'é', 'a/b'])(
    '%j is not a valid role name',
    (n) => expect(isRoleName(n)).toBe(false),
  );
  it('scopes allow colons and are limited to 128 characters', () => {
    expect(isScope('org:acme-1')).toBe(true);
    expect(isScope('x'.repeat(128))).toBe(true);
    expect(isScope('x'.repeat(129))).toBe(false);
    expect(isScope('org acme')).toBe(false);
  });
  it('descriptions refuse control and bidi characters', () => {
    expect(isRoleDescription('Reads <everything> & "more"')).toBe(true);
    expect(isRoleDescription('line\nbreak')).toBe(false);
    expect(isRoleDescription('evil\u202Eoverride')).toBe(false);
    expect(isRoleDescription('x'.repeat(501))).toBe(false);
  });
});

describe('PermissionSet (compiled matcher) agrees with permissionCovers', () => {
  it('covers nothing malformed: empty segments, case, extra colons', () => {
    const set = new PermissionSet(['keys:*', '*:read', 'users:write']);
    for (const required of ['keys:', ':read', 'Keys:write', 'keys:Write', 'users:write:x', 'users:write ', '']) expect(set.covers(required), required).toBe(false);
    expect(set.covers('keys:write')).toBe(true);
  });

  const segments = ['*', 'keys', 'users', 'read', 'write'];
  const all = segments.flatMap((r) => segments.map((a) => `${r}:${a}`));
  it('for every grant list of up to two entries and every required permission', () => {
    const lists = [[], ...all.map((p) => [p]), ...all.flatMap((p) => all.slice(0, 6).map((q) => [p, q]))];
    for (const list of lists) {
      const set = new PermissionSet(list);
      for (const required of [...all, 'keys', 'a:b:c', '', 'keys:', ':read', ':', 'users:', ':write', '*:', ':*']) {
        expect(set.covers(required), `${JSON.stringify(list)} ⊇ ${required}`).toBe(anyCovers(list, required));
      }
    }
  });
});
