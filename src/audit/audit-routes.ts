import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../server/app-context.js';
import type { AuditLogDomain } from './audit-log-domain.js';
import { queryEvents, timeRange } from './audit-query.js';
import { verifyChain } from './audit-verify.js';

const Text = Type.String({ minLength: 1, maxLength: 200 });

const AuditQuery = Type.Object(
  {
    action: Type.Optional(Text),
    actor: Type.Optional(Text),
    entity_type: Type.Optional(Text),
    entity_id: Type.Optional(Text),
    outcome: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('failure'), Type.Literal('denied')])),
    since: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
    until: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
    hours: Type.Optional(Type.Integer({ minimum: 1, maximum: 24 * 366 })),
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);

/** `GET /v1/audit` (filtered, newest first, cursor pages) and `GET /v1/audit/verify`; both need audit:read. */
export async function auditRoutes(app: FastifyInstance, audit: AuditLogDomain): Promise<void> {
  app.get<{ Querystring: Static<typeof AuditQuery> }>(
    '/v1/audit',
    { schema: { querystring: AuditQuery }, config: { permission: 'audit:read' } },
    async (request, reply) => {
      const { since, until, hours, limit, cursor, ...filter } = request.query;
      const range = timeRange({ since, until, hours }, audit.now());
      reply.header('cache-control', 'no-store');
      return queryEvents(audit.storage.db, { ...filter, ...range }, cursor === undefined ? { limit } : { limit, cursor });
    },
  );

  app.get('/v1/audit/verify', { config: { permission: 'audit:read' } }, async (_request, reply) => {
    // Events still queued in this instance are committed first so the report covers them.
    await audit.log.flush();
    reply.header('cache-control', 'no-store');
    return verifyChain(audit.storage.db, { checkpointKey: audit.checkpointKey });
  });
}

/** The route module for ROUTE_MODULES: mounts the audit routes when the audit log is wired. */
export const auditRouteModule = async (app: FastifyInstance, context: AppContext): Promise<void> => {
  if (context.auditLog === undefined) throw new Error('the audit log is not wired into the context');
  await auditRoutes(app, context.auditLog);
};
