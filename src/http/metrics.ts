import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { constantTimeEqual } from '../crypto/constant-time.js';
import { WardenError } from '../errors/index.js';

export interface MetricsOptions {
  readonly registry: Registry;
  /** A bearer token that may read /metrics; undefined = only the authorizer can allow it. */
  readonly token: string | undefined;
  /** Extra check, e.g. "the caller holds metrics:read". Errors deny. */
  readonly authorize?: (request: FastifyRequest) => Promise<boolean>;
}

/** Creates a registry with process metrics; one per app so that tests and instances do not share state. */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** `GET /metrics` behind the metrics token or the `metrics:read` permission (errors deny). */
export const metrics = fp<MetricsOptions>(
  async (app: FastifyInstance, options) => {
    const { registry } = options;
    app.get('/metrics', { config: { public: true, auth: 'metrics' } }, async (request, reply) => {
      let allowed = false;
      const header = request.headers.authorization;
      if (options.token !== undefined && header !== undefined && header.startsWith('Bearer ')) {
        allowed = constantTimeEqual(header.slice('Bearer '.length), options.token);
      }
      if (!allowed && options.authorize !== undefined) {
        try {
          allowed = await options.authorize(request);
        } catch {
          allowed = false;
        }
      }
      if (!allowed) {
        throw new WardenError('unauthorized', 'GET /metrics needs the metrics token or the metrics:read permission', {
          headers: { 'www-authenticate': 'Bearer realm="warden"' },
        });
      }
      reply.header('cache-control', 'no-store');
      return reply.type(registry.contentType).send(await registry.metrics());
    });
  },
  { name: 'warden-metrics', fastify: '5.x' },
);
