import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { NotFoundError, WardenError } from '../../errors/index.js';
import { decodePositionCursor, encodePositionCursor, pageOf } from '../../storage/keyset-cursor.js';
import type { AppContext } from '../../server/app-context.js';
import type { IdentityService } from '../identity-service.js';
import type { User } from '../user-store.js';
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

/** Granting or removing the admin flag needs `users:admin` on top of `users:write` (no escalation by a user editor). */
async function assertMayChangeAdmin(request: FastifyRequest, context: AppContext): Promise<void> {
  const principal = request.principal;
  let allowed = false;
  try {
    allowed = principal !== undefined && (await context.authorize(principal, 'users:admin'));
  } catch {
    // A failing check denies.
  }
  if (!allowed) throw new WardenError('privilege_escalation', 'Changing is_admin needs the permission users:admin', { fields: { permission: 'users:admin' } });
}

/** /v1/users: create (users:write), get and list (users:read), update (users:write), delete (users:delete); is_admin needs users:admin. */
export async function userRoutes(app: FastifyInstance, context: AppContext, identity: IdentityService): Promise<void> {
  app.post<{ Body: Static<typeof CreateUserBody> }>(
    '/v1/users',
    { config: { permission: 'users:write' }, schema: { body: CreateUserBody } },
    async (request, reply) => {
      const { email, password, name, is_admin: isAdmin } = request.body;
      if (isAdmin === true) await assertMayChangeAdmin(request, context);
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
      if (isAdmin !== undefined) await assertMayChangeAdmin(request, context);
      const user = await identity.userAdmin.update(
        request.params.id,
        { ...(name === undefined ? {} : { name }), ...(isActive === undefined ? {} : { isActive }), ...(isAdmin === undefined ? {} : { isAdmin }) },
        actorOf(request),
      );
      if (user === undefined) throw new NotFoundError('The user');
      return userJson(user);
    },
  );

  app.delete<{ Params: Static<typeof UserParams> }>(
    '/v1/users/:id',
    { config: { permission: 'users:delete' }, schema: { params: UserParams } },
    async (request, reply) => {
      if (!(await identity.userAdmin.delete(request.params.id, actorOf(request)))) throw new NotFoundError('The user');
      return reply.code(204).send();
    },
  );
}
