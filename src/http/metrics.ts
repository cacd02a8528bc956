import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
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

/** Request counters and durations by route and status, and `GET /metrics` behind a token or permission. */
export const metrics = fp<MetricsOptions>(
  async (app: FastifyInstance, options) => {
    const { registry } = options;
    const requests = new Counter({
      name: 'warden_http_requests_total',
      help: 'HTTP requests by method, route and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    });
    const duration = new Histogram({
      name: 'warden_http_request_duration_seconds',
      help: 'HTTP request duration by method, route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
    app.addHook('onResponse', async (request, reply) => {
      // The route pattern, never the raw URL: ids in paths would explode label cardinality.
      const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) };
      requests.inc(labels);
      duration.observe(labels, reply.elapsedTime / 1000);
    });

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
