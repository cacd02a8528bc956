import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { actorId } from '../authz/audit-actor.js';
import { assertMayChangeForOwner, mayActForOwner } from '../authz/owner-access.js';
import { isPermission } from '../authz/permission-match.js';
import { NotFoundError, WardenError } from '../errors/index.js';
import type { AppContext } from '../server/app-context.js';
import { principalOf } from '../http/principal.js';
import type { Actor, OAuthClient } from './oauth-client-service.js';
import { clientView, parseClientTime } from './client-view.js';
import { oauthOf } from './oauth-domain.js';

const CreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f\\u007f]+$' }),
    owner_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    scopes: Type.Array(Type.String({ minLength: 3, maxLength: 130 }), { maxItems: 100 }),
    // An RFC 3339 date-time with a time zone (`Z` or `±hh:mm`), as API keys take it; null = never.
    expires_at: Type.Optional(Type.Union([Type.String({ format: 'date-time', maxLength: 64 }), Type.Null()])),
  },
  { additionalProperties: false },
);
const RotateBody = Type.Object({ grace_period_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 * 86_400_000 })) }, { additionalProperties: false });
const ListQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
    // Opaque: the `next_cursor` of the previous page (decoded by the service; anything else is a 400).
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);
const Params = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });

function actorOf(request: FastifyRequest): Actor {
  return { actor: actorId(request.principal), ip: request.ip, request_id: request.id };
}

/**
 * Refuses a caller who may not hold this client's secret: another owner's client needs
 * `users:write`, and an administrator's `users:admin` too (authz/owner-access.ts), and a secret
 * is only handed to a caller who holds every scope it carries — otherwise creating or rotating
 * a client would be a way to obtain more than one holds (the rule API keys and role grants follow).
 */
async function assertMayHoldSecret(
  context: AppContext,
  request: FastifyRequest,
  client: { ownerId: string; scopes: readonly string[]; clientId?: string },
  action: 'client.created' | 'client.rotated',
): Promise<void> {
  const principal = principalOf(request);
  await assertMayChangeForOwner(context, request, client.ownerId, { action, entityType: 'oauth_client', entityId: client.clientId });
  const missing: string[] = [];
  for (const scope of new Set(client.scopes)) {
    // A malformed scope is the service's 400 (it validates before writing), not a refusal here.
    if (isPermission(scope) && !(await context.authorize(principal, scope))) missing.push(scope);
  }
  if (missing.length > 0) {
    // Recorded as the refused change, as refused key escalations are: probing for a way up
    // through clients must leave the same trace.
    await context.audit.record({
      action,
      actor: actorId(principal),
      entity_type: 'oauth_client',
      ...(client.clientId === undefined ? {} : { entity_id: client.clientId }),
      outcome: 'denied',
      ip: request.ip,
      ...(request.headers['user-agent'] === undefined ? {} : { user_agent: request.headers['user-agent'] }),
      request_id: request.id,
      details: { reason: 'privilege_escalation', owner_id: client.ownerId, scopes: missing },
    });
    throw new WardenError('privilege_escalation', 'A client cannot carry scopes its creator does not hold', { fields: { scopes: missing } });
  }
}

/** `/v1/clients`: create (secret shown once), list, get, rotate, revoke OAuth clients. */
export async function clientRoutes(app: FastifyInstance, context: AppContext): Promise<void> {
  const clients = () => oauthOf(context).clients;

  app.post<{ Body: Static<typeof CreateBody> }>(
    '/v1/clients',
    { config: { permission: 'clients:write' }, schema: { body: CreateBody } },
    async (request, reply) => {
      const principal = principalOf(request);
      const ownerId = request.body.owner_id ?? principal.subject;
      await assertMayHoldSecret(context, request, { ownerId, scopes: request.body.scopes }, 'client.created');
      const expiresAt = request.body.expires_at == null ? null : parseClientTime(request.body.expires_at, 'body.expires_at');
      const { client, secret } = await clients().create({ name: request.body.name, ownerId, scopes: request.body.scopes, expiresAt }, actorOf(request));
      return reply.code(201).header('cache-control', 'no-store').send({ ...clientView(client), client_secret: secret });
    },
  );

  // Everyone's clients with users:read, else the caller's own.
  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/v1/clients',
    { config: { permission: 'clients:read' }, schema: { querystring: ListQuery } },
    async (request) => {
      const principal = principalOf(request);
      const everyone = await context.authorize(principal, 'users:read');
      const { limit, cursor } = request.query;
      const page = await clients().list({ ownerId: everyone ? undefined : principal.subject, limit, cursor });
      return { data: page.data.map(clientView), next_cursor: page.next_cursor };
    },
  );

  /**
   * The client, if the caller may see it: another owner's client, without users:read, is
   * answered exactly as a missing id, by every route, so its id reveals nothing. A caller who
   * may see it but not change it gets 403 from the write check that follows.
   */
  const visibleClient = async (request: FastifyRequest<{ Params: Static<typeof Params> }>): Promise<OAuthClient> => {
    const client = await clients().get(request.params.id);
    if (!(await mayActForOwner(context, principalOf(request), client.owner_id, 'read'))) throw new NotFoundError('The OAuth client');
    return client;
  };

  app.get<{ Params: Static<typeof Params> }>('/v1/clients/:id', { config: { permission: 'clients:read' }, schema: { params: Params } }, async (request) =>
    clientView(await visibleClient(request)),
  );

  app.post<{ Params: Static<typeof Params>; Body: Static<typeof RotateBody> }>(
    '/v1/clients/:id/rotate',
    {
      config: { permission: 'clients:write' },
      schema: { params: Params, body: RotateBody },
      // The body is optional (`{}` = the configured grace period), as for an API key's rotate.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request, reply) => {
      const current = await visibleClient(request);
      await assertMayHoldSecret(context, request, { ownerId: current.owner_id, scopes: current.scopes, clientId: current.client_id }, 'client.rotated');
      const { client, secret } = await clients().rotate(request.params.id, request.body.grace_period_ms ?? 24 * 3_600_000, actorOf(request));
      return reply.header('cache-control', 'no-store').send({ ...clientView(client), client_secret: secret });
    },
  );

  app.delete<{ Params: Static<typeof Params> }>(
    '/v1/clients/:id',
    { config: { permission: 'clients:write' }, schema: { params: Params } },
    async (request) => {
      const current = await visibleClient(request);
      await assertMayChangeForOwner(context, request, current.owner_id, { action: 'client.revoked', entityType: 'oauth_client', entityId: current.client_id });
      return clientView(await clients().revoke(request.params.id, actorOf(request)));
    },
  );
}
