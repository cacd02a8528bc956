import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ValidationError } from '../errors/index.js';
import type { AppContext } from '../server/app-context.js';
import { principalOf } from '../http/principal.js';
import type { AuthzActor, AuthzService } from './authz-service.js';
import type { ResolvedGrant } from './effective-permissions.js';
import { ROLE_DESCRIPTION_MAX_LENGTH, ROLE_NAME_PATTERN, SCOPE_PATTERN } from './names.js';
import { isPermission } from './permission-match.js';
import { requirePermission } from './require-permission.js';
import type { MembershipRecord, RoleRecord } from './role-store.js';

const RoleName = Type.String({ minLength: 1, maxLength: 64, pattern: ROLE_NAME_PATTERN });
const Scope = Type.String({ minLength: 1, maxLength: 128, pattern: SCOPE_PATTERN });
// Coarse names (read, write, …) are accepted here and expanded by the service.
const PermissionText = Type.String({ minLength: 1, maxLength: 130 });
const Permissions = Type.Array(PermissionText, { maxItems: 100 });
const Inherits = Type.Array(RoleName, { maxItems: 20 });
const Description = Type.String({ maxLength: ROLE_DESCRIPTION_MAX_LENGTH });
// No control characters: PostgreSQL refuses NUL in text, which made a hostile subject a 500.
const UserId = Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f\\u007f]+$' });

const CreateRoleBody = Type.Object(
  { name: RoleName, description: Type.Optional(Description), permissions: Permissions, inherits: Type.Optional(Inherits) },
  { additionalProperties: false },
);
const UpdateRoleBody = Type.Object(
  { description: Type.Optional(Type.Union([Description, Type.Null()])), permissions: Type.Optional(Permissions), inherits: Type.Optional(Inherits) },
  { additionalProperties: false, minProperties: 1 },
);
const RoleParams = Type.Object({ name: RoleName }, { additionalProperties: false });
const UserParams = Type.Object({ id: UserId }, { additionalProperties: false });
const MembershipParams = Type.Object({ id: UserId, role: RoleName }, { additionalProperties: false });
const ScopeQuery = Type.Object({ scope: Type.Optional(Scope) }, { additionalProperties: false });
const Check = Type.Object({ subject: UserId, permission: PermissionText, scope: Type.Optional(Scope) }, { additionalProperties: false });
const BatchBody = Type.Object({ checks: Type.Array(Check, { minItems: 1, maxItems: 100 }) }, { additionalProperties: false });

const iso = (ms: number): string => new Date(ms).toISOString();

/** Checks of one batch answered at once (each may load a subject's grants from the database). */
const BATCH_CONCURRENCY = 8;

/** The wire form of a role. */
export function roleView(role: RoleRecord): Record<string, unknown> {
  return {
    name: role.name,
    description: role.description ?? null,
    permissions: role.permissions,
    inherits: role.inherits,
    builtin: role.builtin,
    created_at: iso(role.createdAt),
    updated_at: iso(role.updatedAt),
  };
}

function membershipView(m: MembershipRecord): Record<string, unknown> {
  return { role: m.role, scope: m.scope ?? null, created_at: iso(m.createdAt) };
}

/** Effective permissions grouped by permission, each with every source that grants it. */
function permissionsView(grants: readonly ResolvedGrant[]): Record<string, unknown>[] {
  const byPermission = new Map<string, Record<string, unknown>[]>();
  for (const g of grants) {
    const sources = byPermission.get(g.permission) ?? [];
    sources.push({ source: g.source, role: g.role, via: g.via, scope: g.scope ?? null });
    byPermission.set(g.permission, sources);
  }
  return [...byPermission].map(([permission, sources]) => ({ permission, sources }));
}

function actorOf(request: FastifyRequest): AuthzActor {
  const principal = principalOf(request);
  const userAgent = request.headers['user-agent'];
  return { principal, ip: request.ip, requestId: request.id, ...(userAgent === undefined ? {} : { userAgent }) };
}

/** `/v1/roles`, `/v1/users/{id}/roles[/{role}]`, `/v1/users/{id}/permissions`, `/v1/authz/check[/batch]`. */
export async function authzRoutes(app: FastifyInstance, context: AppContext): Promise<void> {
  const authz = context.authz as AuthzService | undefined;
  if (authz === undefined) throw new TypeError('context.authz is not wired (createAuthz in createContext)');

  app.get('/v1/roles', { ...requirePermission('roles:read') }, async () => ({ data: (await authz.listRoles()).map(roleView) }));

  app.post<{ Body: Static<typeof CreateRoleBody> }>('/v1/roles', { ...requirePermission('roles:write'), schema: { body: CreateRoleBody } }, async (request, reply) => {
    const role = await authz.createRole(actorOf(request), request.body);
    return reply.code(201).send(roleView(role));
  });

  app.get<{ Params: Static<typeof RoleParams> }>('/v1/roles/:name', { ...requirePermission('roles:read'), schema: { params: RoleParams } }, async (request) =>
    roleView(await authz.getRole(request.params.name)),
  );

  app.patch<{ Params: Static<typeof RoleParams>; Body: Static<typeof UpdateRoleBody> }>(
    '/v1/roles/:name',
    { ...requirePermission('roles:write'), schema: { params: RoleParams, body: UpdateRoleBody } },
    async (request) => roleView(await authz.updateRole(actorOf(request), request.params.name, request.body)),
  );

  app.delete<{ Params: Static<typeof RoleParams> }>('/v1/roles/:name', { ...requirePermission('roles:delete'), schema: { params: RoleParams } }, async (request, reply) => {
    await authz.deleteRole(actorOf(request), request.params.name);
    return reply.code(204).send();
  });

  app.get<{ Params: Static<typeof UserParams> }>('/v1/users/:id/roles', { ...requirePermission('users:read'), schema: { params: UserParams } }, async (request) => ({
    data: (await authz.memberships(request.params.id)).map(membershipView),
  }));

  app.put<{ Params: Static<typeof MembershipParams>; Querystring: Static<typeof ScopeQuery> }>(
    '/v1/users/:id/roles/:role',
    { ...requirePermission('users:write'), schema: { params: MembershipParams, querystring: ScopeQuery } },
    async (request, reply) => {
      const { id, role } = request.params;
      const added = await authz.assignRole(actorOf(request), { userId: id, role, scope: request.query.scope });
      return reply.code(added ? 201 : 200).send({ user_id: id, role, scope: request.query.scope ?? null, created: added });
    },
  );

  app.delete<{ Params: Static<typeof MembershipParams>; Querystring: Static<typeof ScopeQuery> }>(
    '/v1/users/:id/roles/:role',
    { ...requirePermission('users:write'), schema: { params: MembershipParams, querystring: ScopeQuery } },
    async (request, reply) => {
      await authz.removeRole(actorOf(request), { userId: request.params.id, role: request.params.role, scope: request.query.scope });
      return reply.code(204).send();
    },
  );

  app.get<{ Params: Static<typeof UserParams>; Querystring: Static<typeof ScopeQuery> }>(
    '/v1/users/:id/permissions',
    { ...requirePermission('users:read'), schema: { params: UserParams, querystring: ScopeQuery } },
    async (request) => {
      await authz.memberships(request.params.id); // 404 for an unknown user
      const grants = await authz.grants(request.params.id, request.query.scope);
      return { user_id: request.params.id, scope: request.query.scope ?? null, permissions: permissionsView(grants) };
    },
  );

  app.post<{ Body: Static<typeof Check> }>('/v1/authz/check', { ...requirePermission('authz:read'), schema: { body: Check } }, async (request) => {
    assertCheckable(request.body.permission, 'body.permission');
    return { allowed: await authz.check(request.body.subject, request.body.permission, request.body.scope) };
  });

  app.post<{ Body: Static<typeof BatchBody> }>('/v1/authz/check/batch', { ...requirePermission('authz:read'), schema: { body: BatchBody } }, async (request) => {
    request.body.checks.forEach((c, i) => assertCheckable(c.permission, `body.checks.${i}.permission`));
    // A few at a time: 100 checks of distinct subjects or scopes are 100 grant loads, and all at
    // once they would hold every pooled connection other requests wait for.
    const results: Record<string, unknown>[] = [];
    for (let i = 0; i < request.body.checks.length; i += BATCH_CONCURRENCY) {
      const slice = request.body.checks.slice(i, i + BATCH_CONCURRENCY);
      results.push(
        ...(await Promise.all(slice.map(async (c) => ({ subject: c.subject, permission: c.permission, scope: c.scope ?? null, allowed: await authz.check(c.subject, c.permission, c.scope) })))),
      );
    }
    return { results };
  });
}

/**
 * A check of something that is not a permission would answer `allowed: false`, which reads as
 * a real denial: a typo in a service's check must be a 400, as it is in a role's permissions.
 */
function assertCheckable(permission: string, field: string): void {
  if (!isPermission(permission)) {
    throw new ValidationError(`${field} must be a resource:action permission (wildcards allowed), e.g. reports:read`, { field });
  }
}
