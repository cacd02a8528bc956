import { describe, expect, it } from 'vitest';
import type { ResolvedGrant } from '../../src/authz/effective-permissions.js';
import { PermissionCache } from '../../src/authz/permission-cache.js';

const grant = (permission: string): ResolvedGrant => ({ permission, source: 'membership', role: 'r', via: ['r'], scope: undefined });

describe('PermissionCache', () => {
  it('keeps entries per subject and scope until the TTL (injected clock)', () => {
    let now = 1000;
    const cache = new PermissionCache({ ttlMs: 1000, now: () => now });
    cache.set('u1', undefined, [grant('a:read')], cache.generation());
    cache.set('u1', 'org', [grant('b:read')], cache.generation());
    expect(cache.get('u1', undefined)).toEqual([grant('a:read')]);
    expect(cache.get('u1', 'org')).toEqual([grant('b:read')]);
    expect(cache.get('u1', 'other')).toBeUndefined();
    now += 999;
    expect(cache.get('u1', undefined)).toBeDefined();
    now += 1;
    expect(cache.get('u1', undefined)).toBeUndefined();
  });

  it('invalidates one subject or everyone', () => {
    const cache = new PermissionCache();
    cache.set('u1', undefined, [], cache.generation());
    cache.set('u2', undefined, [], cache.generation());
    cache.invalidate('u1');
    expect(cache.get('u1', undefined)).toBeUndefined();
    expect(cache.get('u2', undefined)).toEqual([]);
    cache.invalidate('*');
    expect(cache.get('u2', undefined)).toBeUndefined();
  });

  it('discards a load that started before an invalidation (no stale grant survives a revocation)', () => {
    const cache = new PermissionCache();
    const generation = cache.generation();
    cache.invalidate('u1'); // the revocation lands while the load is in flight
    cache.set('u1', undefined, [grant('keys:write')], generation);
    expect(cache.get('u1', undefined)).toBeUndefined();
  });

  it('drops the oldest subject when full', () => {
    const cache = new PermissionCache({ maxSubjects: 2 });
    for (const s of ['a', 'b', 'c']) cache.set(s, undefined, [], cache.generation());
    expect(cache.get('a', undefined)).toBeUndefined();
    expect(cache.get('c', undefined)).toEqual([]);
  });

  it('keeps a bounded number of scopes per subject (callers of /v1/authz/check choose them), dropping the oldest', () => {
    const cache = new PermissionCache();
    cache.set('a', undefined, [grant('x:read')], cache.generation());
    for (let i = 0; i < 200; i += 1) cache.set('a', `tenant-${i}`, [], cache.generation());
    // 64 scopes at most: the unscoped entry and the first 136 tenants are gone, the newest kept.
    expect(cache.get('a', undefined)).toBeUndefined();
    expect(cache.get('a', 'tenant-135')).toBeUndefined();
    expect(cache.get('a', 'tenant-136')).toEqual([]);
    expect(cache.get('a', 'tenant-199')).toEqual([]);
  });
});
