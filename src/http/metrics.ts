import type { FastifyContextConfig, FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { constantTimeEqual } from '../crypto/constant-time.js';
import { WardenError } from '../errors/index.js';
import { bearerToken, singleApiKeyHeader } from './auth-guard.js';
import './route-config.js';

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

/**
 * `GET /metrics` behind the metrics token or the `metrics:read` permission (errors deny). The
 * route authenticates its caller, so it asks for the default per-client-IP rate limit before
 * that (`config.rateLimit`): register it after the rate-limit plugin, whose onRoute hook applies it.
 * That limit is counted in this process (`store: 'local'`): it only slows token guessing, which
 * per instance does, and a Redis outage — when the store-error metrics matter most — must not
 * turn every scrape into a 503 under the fail-closed policy.
 */
export const metrics = fp<MetricsOptions>(
  async (app: FastifyInstance, options) => {
    const { registry } = options;
    const config: FastifyContextConfig = { public: true, auth: 'metrics', rateLimit: { key: 'ip', store: 'local' } };
    app.get('/metrics', { config }, async (request, reply) => {
      // Two credentials are refused here as on every other route (400), before either is tried.
      singleApiKeyHeader(request);
      let allowed = false;
      // Parsed as on every other route: the scheme is case-insensitive (RFC 9110 §11.1).
      const presented = bearerToken(request);
      if (options.token !== undefined && presented !== undefined) allowed = constantTimeEqual(presented, options.token);
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
