import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { WardenError } from '../errors/index.js';
import type { AppContext } from '../server/app-context.js';
import type { Actor } from './oauth-client-service.js';
import { oauthOf } from './oauth-domain.js';

const CreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f\\u007f]+$' }),
    owner_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    scopes: Type.Array(Type.String({ minLength: 3, maxLength: 130 }), { maxItems: 100 }),
    expires_at: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])),
  },
  { additionalProperties: false },
);
const RotateBody = Type.Object({ grace_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 * 86_400_000 })) }, { additionalProperties: false });
const Params = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });

function actorOf(request: FastifyRequest): Actor {
  const principal = request.principal;
  const actor = principal === undefined ? 'unknown' : principal.kind === 'user' ? principal.subject : `${principal.kind === 'api_key' ? 'apikey' : 'client'}:${principal.credentialId}`;
  return { actor, ip: request.ip, request_id: request.id };
}

/** `/v1/clients`: create (secret shown once), list, get, rotate, revoke OAuth clients. */
export async function clientRoutes(app: FastifyInstance, context: AppContext): Promise<void> {
  const clients = () => oauthOf(context).clients;

  app.post<{ Body: Static<typeof CreateBody> }>(
    '/v1/clients',
    { config: { permission: 'clients:write' }, schema: { body: CreateBody } },
    async (request, reply) => {
      const principal = request.principal;
      const ownerId = request.body.owner_id ?? principal?.subject;
      if (ownerId === undefined || principal === undefined) throw new WardenError('unauthorized');
      // Creating a client for someone else is managing their credentials.
      if (ownerId !== principal.subject && !(await context.authorize(principal, 'users:write'))) {
        throw new WardenError('forbidden', 'Creating a client for another owner needs users:write');
      }
      const { client, secret } = await clients().create(
        { name: request.body.name, ownerId, scopes: request.body.scopes, expiresAt: request.body.expires_at ?? null },
        actorOf(request),
      );
      return reply.code(201).header('cache-control', 'no-store').send({ ...client, client_secret: secret });
    },
  );

  app.get('/v1/clients', { config: { permission: 'clients:read' } }, async () => ({ data: await clients().list() }));

  app.get<{ Params: Static<typeof Params> }>('/v1/clients/:id', { config: { permission: 'clients:read' }, schema: { params: Params } }, async (request) =>
    clients().get(request.params.id),
  );

  app.post<{ Params: Static<typeof Params>; Body: Static<typeof RotateBody> }>(
    '/v1/clients/:id/rotate',
    { config: { permission: 'clients:write' }, schema: { params: Params, body: RotateBody } },
    async (request, reply) => {
      const { client, secret } = await clients().rotate(request.params.id, request.body.grace_ms ?? 24 * 3_600_000, actorOf(request));
      return reply.header('cache-control', 'no-store').send({ ...client, client_secret: secret });
    },
  );

  app.delete<{ Params: Static<typeof Params> }>(
    '/v1/clients/:id',
    { config: { permission: 'clients:write' }, schema: { params: Params } },
    async (request) => clients().revoke(request.params.id, actorOf(request)),
  );
}
