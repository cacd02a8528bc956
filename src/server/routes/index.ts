import type { FastifyInstance } from 'fastify';
import { auditRouteModule } from '../../audit/audit-routes.js';
import { apiKeyRoutes } from '../../apikeys/api-key-routes.js';
import { authzRoutes } from '../../authz/authz-routes.js';
import { healthRoutes } from '../../http/health.js';
import { identityRouteModule } from '../../identity/routes/index.js';
import { clientRoutes } from '../../oauth/client-routes.js';
import { oauthRoutes } from '../../oauth/oauth-routes.js';
import { rateLimitRoutes } from '../../ratelimit/rate-limit-routes.js';
import { logTriageRouteModule } from '../../resilience/log-triage-routes.js';
import type { AppContext } from '../app-context.js';

/** A domain's routes, registered with the shared context. */
export type RouteModule = (app: FastifyInstance, context: AppContext) => Promise<void>;

/** Every route module of the service, in registration order. Domains append theirs here. */
export const ROUTE_MODULES: readonly RouteModule[] = [
  async (app, context) => {
    const checks: Record<string, () => Promise<void>> = { database: () => context.storage.ping() };
    const redis = context.redis;
    if (redis !== undefined) checks.redis = async () => void (await redis.ping());
    await app.register(healthRoutes, { checks });
  },
  async (app, context) => rateLimitRoutes(app, context.rateLimits),
  async (app, context) => apiKeyRoutes(app, context),
  async (app, context) => authzRoutes(app, context),
  logTriageRouteModule,
  auditRouteModule,
  identityRouteModule,
  oauthRoutes,
  clientRoutes,
];
