import type { FastifyInstance } from 'fastify';
import { healthRoutes } from '../../http/health.js';
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
];
