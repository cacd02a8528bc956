import type { Authorizer } from '../http/auth-guard.js';
import type { Principal } from '../http/principal.js';
import type { ApiKeyRecord } from './api-key-store.js';

/** The principal of a key: exactly the key's permissions, on behalf of its owner. */
export function keyPrincipal(key: ApiKeyRecord): Principal {
  return { kind: 'api_key', subject: key.ownerId, permissions: key.permissions, credentialId: key.id, keyId: key.id };
}

/**
 * The key's stored permissions that it holds now: those the authorizer still allows the key's
 * principal. A stored list is not rewritten when the owner is demoted, so reporting it would
 * over-grant; asking the authorizer applies the guard's own rule (the owner must still hold it).
 * A wildcard the owner no longer covers in full is dropped, not narrowed to the part still held.
 * Synchronous when every answer comes from the authorizer's cache (the usual case), so a hot
 * path that checks for a promise awaits nothing then.
 */
export function heldPermissions(authorize: Authorizer, key: ApiKeyRecord): readonly string[] | Promise<readonly string[]> {
  const principal = keyPrincipal(key);
  const held: string[] = [];
  for (const [index, permission] of key.permissions.entries()) {
    const answer = authorize(principal, permission);
    if (typeof answer !== 'boolean') return heldFrom(authorize, principal, key.permissions, index, answer, held);
    if (answer) held.push(permission);
  }
  return held;
}

/** The rest of `heldPermissions` once an answer had to be awaited. */
async function heldFrom(
  authorize: Authorizer,
  principal: Principal,
  permissions: readonly string[],
  index: number,
  pending: Promise<boolean>,
  held: string[],
): Promise<readonly string[]> {
  if (await pending) held.push(permissions[index] as string);
  for (const permission of permissions.slice(index + 1)) {
    const answer = authorize(principal, permission);
    if (typeof answer === 'boolean' ? answer : await answer) held.push(permission);
  }
  return held;
}
