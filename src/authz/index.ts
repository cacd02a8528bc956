/** The authorization domain's public surface. */
export { createAuthz } from './authz-domain.js';
export { actorId } from './audit-actor.js';
export { AuthzService, type AuthzActor, type AuthzServiceOptions, type RoleInput, type RolePatch } from './authz-service.js';
export { COARSE_PERMISSIONS, normalizePermissions } from './coarse-permissions.js';
export type { ResolvedGrant } from './effective-permissions.js';
export { isRoleDescription, isRoleName, isScope } from './names.js';
export { anyCovers, isPermission, permissionCovers } from './permission-match.js';
export { PermissionSet } from './permission-set.js';
export { requirePermission } from './require-permission.js';
export type { MembershipRecord, RoleRecord } from './role-store.js';
