import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { NotFoundError, WardenError } from '../../errors/index.js';
import { decodePositionCursor, encodePositionCursor, pageOf } from '../../storage/keyset-cursor.js';
import { AdministratorTargetError, holdsUsersAdmin, isAdministrator, refuseAdministratorTarget, USERS_ADMIN } from '../../authz/administrators.js';
import { principalOf } from '../../http/principal.js';
import type { AppContext } from '../../server/app-context.js';
import type { IdentityService } from '../identity-service.js';
import type { User, WriteGuard } from '../user-store.js';
import { actorOf } from './request-facts.js';

const CreateUserBody = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 320 }),
    password: Type.String({ minLength: 1, maxLength: 4096 }),
    name: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
    is_admin: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
const UpdateUserBody = Type.Object(
  {
    name: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
    is_active: Type.Optional(Type.Boolean()),
    is_admin: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
const UserParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
const ListQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
    // Opaque: the `next_cursor` of the previous page; anything else is a 400 naming `cursor`.
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);

/** The wire form of a user (snake_case, ISO timestamps, never the hash). */
export function userJson(user: User): Record<string, unknown> {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    is_active: user.isActive,
    is_admin: user.isAdmin,
    created_at: new Date(user.createdAt).toISOString(),
    updated_at: new Date(user.updatedAt).toISOString(),
  };
}

/**
 * Refuses a change that needs `users:admin` (403 `privilege_escalation`), recording the refused
 * attempt as a `denied` event first: probing for a way up is worth a trace, as for role grants.
 */
async function refuseWithoutUsersAdmin(
  request: FastifyRequest,
  identity: IdentityService,
  attempt: { readonly action: 'user.created' | 'user.updated' | 'user.deactivated' | 'user.deleted'; readonly userId?: string; readonly fields?: readonly string[] },
  message: string,
): Promise<never> {
  await identity.userAdmin.recordDenied(actorOf(request), attempt.action, attempt.userId, {
    reason: 'privilege_escalation',
    missing: [USERS_ADMIN],
    ...(attempt.fields === undefined ? {} : { fields: attempt.fields }),
  });
  throw new WardenError('privilege_escalation', message, { fields: { permission: USERS_ADMIN } });
}

/**
 * /v1/users: create (users:write), get and list (users:read), update (users:write), delete
 * (users:delete). Setting or clearing is_admin, and changing is_active of or deleting an
 * administrator, need users:admin too: a user editor can neither make administrators nor take
 * their accounts away (nor give back one that an administrator took away).
 */
export async function userRoutes(app: FastifyInstance, context: AppContext, identity: IdentityService): Promise<void> {
  app.post<{ Body: Static<typeof CreateUserBody> }>(
    '/v1/users',
    { config: { permission: 'users:write' }, schema: { body: CreateUserBody } },
    async (request, reply) => {
      const { email, password, name, is_admin: isAdmin } = request.body;
      if (isAdmin === true && !(await holdsUsersAdmin(context, request.principal))) {
        await refuseWithoutUsersAdmin(request, identity, { action: 'user.created', fields: ['is_admin'] }, 'Creating an administrator needs the permission users:admin');
      }
      // The caller picks the new user's password, so whatever WARDEN_DEFAULT_ROLES grants it could
      // use itself: creating a user gives away those permissions, and only a holder may.
      const missing = await context.authz?.notHeldThroughRoles(principalOf(request), context.settings.defaultRoles);
      if (missing !== undefined && missing.length > 0) {
        await identity.userAdmin.recordDenied(actorOf(request), 'user.created', undefined, { reason: 'privilege_escalation', missing, default_roles: context.settings.defaultRoles });
        throw new WardenError('privilege_escalation', 'New users get WARDEN_DEFAULT_ROLES, which grant permissions you do not hold yourself', { fields: { permissions: missing } });
      }
      const user = await identity.userAdmin.create({ email, password, name: name ?? null, isAdmin: isAdmin === true }, actorOf(request));
      return reply.code(201).header('location', `/v1/users/${user.id}`).send(userJson(user));
    },
  );

  app.get<{ Querystring: Static<typeof ListQuery> }>('/v1/users', { config: { permission: 'users:read' }, schema: { querystring: ListQuery } }, async (request) => {
    const limit = request.query.limit;
    const after = request.query.cursor === undefined ? undefined : decodePositionCursor('u', request.query.cursor);
    const page = pageOf(await identity.users.list({ limit: limit + 1, after }), limit, (last) => encodePositionCursor('u', last));
    return { ...page, data: page.data.map(userJson) };
  });

  app.get<{ Params: Static<typeof UserParams> }>('/v1/users/:id', { config: { permission: 'users:read' }, schema: { params: UserParams } }, async (request) => {
    const user = await identity.users.findById(request.params.id);
    if (user === undefined) throw new NotFoundError('The user');
    return userJson(user);
  });

  app.patch<{ Params: Static<typeof UserParams>; Body: Static<typeof UpdateUserBody> }>(
    '/v1/users/:id',
    { config: { permission: 'users:write' }, schema: { params: UserParams, body: UpdateUserBody } },
    async (request) => {
      const { name, is_active: isActive, is_admin: isAdmin } = request.body;
      let guard: WriteGuard | undefined;
      const attempt = { action: isActive === false ? 'user.deactivated' : 'user.updated', userId: request.params.id, fields: Object.keys(request.body) } as const;
      const refusal = 'Changing is_active of an administrator needs the permission users:admin';
      if ((isAdmin !== undefined || isActive !== undefined) && !(await holdsUsersAdmin(context, request.principal))) {
        if (isAdmin !== undefined) await refuseWithoutUsersAdmin(request, identity, attempt, 'Changing is_admin needs the permission users:admin');
        // Either way: deactivating takes an administrator's account away, and reactivating gives
        // back one that someone holding users:admin took away (a compromised one, say).
        const target = await identity.users.findById(request.params.id);
        if (target !== undefined && (await isAdministrator(context, target))) await refuseWithoutUsersAdmin(request, identity, attempt, refusal);
        // Checked again in the write's transaction: a promotion may commit in between.
        guard = (trx) => refuseAdministratorTarget(trx, request.params.id);
      }
      let user: User | undefined;
      try {
        user = await identity.userAdmin.update(
          request.params.id,
          { ...(name === undefined ? {} : { name }), ...(isActive === undefined ? {} : { isActive }), ...(isAdmin === undefined ? {} : { isAdmin }) },
          actorOf(request),
          guard === undefined ? {} : { guard },
        );
      } catch (error) {
        if (error instanceof AdministratorTargetError) await refuseWithoutUsersAdmin(request, identity, attempt, refusal);
        throw error;
      }
      if (user === undefined) throw new NotFoundError('The user');
      return userJson(user);
    },
  );

  app.delete<{ Params: Static<typeof UserParams> }>(
    '/v1/users/:id',
    { config: { permission: 'users:delete' }, schema: { params: UserParams } },
    async (request, reply) => {
      const attempt = { action: 'user.deleted', userId: request.params.id } as const;
      const refusal = 'Deleting an administrator needs the permission users:admin';
      let guard: WriteGuard | undefined;
      if (!(await holdsUsersAdmin(context, request.principal))) {
        const target = await identity.users.findById(request.params.id);
        if (target !== undefined && (await isAdministrator(context, target))) await refuseWithoutUsersAdmin(request, identity, attempt, refusal);
        // Checked again in the delete's transaction: a promotion may commit in between.
        guard = (trx) => refuseAdministratorTarget(trx, request.params.id);
      }
      let deleted: boolean;
      try {
        deleted = await identity.userAdmin.delete(request.params.id, actorOf(request), guard === undefined ? {} : { guard });
      } catch (error) {
        if (error instanceof AdministratorTargetError) await refuseWithoutUsersAdmin(request, identity, attempt, refusal);
        throw error;
      }
      if (!deleted) throw new NotFoundError('The user');
      return reply.code(204).send();
    },
  );
}
