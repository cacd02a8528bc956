import type { FastifyRequest } from 'fastify';
import type { AuditAction } from '../audit/audit-event.js';
import { WardenError } from '../errors/index.js';
import { principalOf, type Principal } from '../http/principal.js';
import type { AppContext } from '../server/app-context.js';
import { holdsUsersAdmin, isAdministrator, USERS_ADMIN } from './administrators.js';
import { actorId } from './audit-actor.js';

/** What a caller does with another owner's credentials: look at them, or change them. */
export type OwnerAccess = 'read' | 'write';

/**
 * Whether a principal may act on credentials (API keys, OAuth clients) owned by `ownerId`:
 * its own always; another owner's only with `users:read` (to look) or `users:write` (to
 * create, rotate, disable or revoke), because managing someone's credentials is managing
 * that user. `keys:*` / `clients:*` alone cover only the caller's own.
 */
export async function mayActForOwner(context: Pick<AppContext, 'authorize'>, principal: Principal, ownerId: string, access: OwnerAccess): Promise<boolean> {
  if (actsAsOwner(principal, ownerId)) return true;
  return managesOwners(context, principal, access);
}

/**
 * Whether the principal reaches `ownerId`'s credentials as their owner (the user, or one of the
 * user's API keys); an OAuth client never does. Otherwise its access comes from managing users.
 */
export function actsAsOwner(principal: Principal, ownerId: string): boolean {
  return principal.kind !== 'client' && ownerId === principal.subject;
}

/**
 * Whether the principal holds what acting on another owner's credentials needs (`users:read` /
 * `users:write`), whether or not it owns the ones at hand: an owner holding it may do to their
 * own credentials whatever a manager may (e.g. lift a disable an administrator made).
 */
export async function managesOwners(context: Pick<AppContext, 'authorize'>, principal: Principal, access: OwnerAccess): Promise<boolean> {
  return context.authorize(principal, access === 'read' ? 'users:read' : 'users:write');
}

/**
 * Throws 403 unless `mayActForOwner`. Routes that change credentials use
 * `assertMayChangeForOwner`, which also guards administrators' credentials.
 */
export async function assertMayActForOwner(context: Pick<AppContext, 'authorize'>, principal: Principal, ownerId: string, access: OwnerAccess): Promise<void> {
  if (!(await mayActForOwner(context, principal, ownerId, access))) {
    throw new WardenError('forbidden', `Acting on another owner's credentials needs users:${access}`);
  }
}

/** A change to someone's credentials, as the audit log records it when it is refused. */
export interface CredentialChange {
  readonly action: Extract<AuditAction, `apikey.${'created' | 'rotated' | 'updated' | 'revoked'}` | `client.${'created' | 'rotated' | 'revoked'}`>;
  readonly entityType: 'api_key' | 'oauth_client';
  /** Absent for a credential not created yet. */
  readonly entityId?: string | undefined;
  /** Recorded with the refusal besides the reason and the owner (e.g. `enabled` of a PATCH). */
  readonly details?: Record<string, unknown>;
}

/**
 * Throws unless the caller of `request` may change (create, rotate, enable, disable, revoke)
 * credentials owned by `ownerId`: 403 `forbidden` as `assertMayActForOwner(…, 'write')`, and
 * 403 `privilege_escalation` when the owner is an administrator (src/authz/administrators.ts)
 * and the caller, not acting as that owner, lacks `users:admin`. Cutting off an administrator's
 * keys and clients is taking their access away, which a user editor may not do to their account
 * either. The escalation refusal is recorded as the change, outcome `denied`, first.
 */
export async function assertMayChangeForOwner(
  context: Pick<AppContext, 'authorize' | 'authz' | 'storage' | 'audit'>,
  request: FastifyRequest,
  ownerId: string,
  change: CredentialChange,
): Promise<void> {
  const principal = principalOf(request);
  if (actsAsOwner(principal, ownerId)) return;
  await assertMayActForOwner(context, principal, ownerId, 'write');
  if ((await holdsUsersAdmin(context, principal)) || !(await isAdministrator(context, { id: ownerId }))) return;
  await context.audit.record({
    action: change.action,
    actor: actorId(principal),
    entity_type: change.entityType,
    ...(change.entityId === undefined ? {} : { entity_id: change.entityId }),
    outcome: 'denied',
    ip: request.ip,
    ...(request.headers['user-agent'] === undefined ? {} : { user_agent: request.headers['user-agent'] }),
    request_id: request.id,
    details: { ...change.details, reason: 'privilege_escalation', missing: [USERS_ADMIN], owner_id: ownerId },
  });
  throw new WardenError('privilege_escalation', "Changing an administrator's API keys or OAuth clients needs the permission users:admin", {
    fields: { permission: USERS_ADMIN },
  });
}
