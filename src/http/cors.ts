import type { FastifyReply, FastifyRequest } from 'fastify';
import { WardenError } from '../errors/index.js';

export interface CorsOptions {
  /** Exact origins, or ['*'] (refused in production by the config checks). Empty = no CORS. */
  readonly origins: readonly string[];
}

/** What the hardening hook does with a request after CORS has seen it. */
export type CorsOutcome = 'continue' | 'answered';

/** The CORS policy the hardening hook applies to every request. */
export interface CorsPolicy {
  /** Headers every response carries under this policy (`Vary: Origin` for an allowlist). */
  readonly staticHeaders: Readonly<Record<string, string>>;
  /**
   * Adds the headers a request's Origin earns and answers a preflight (204) itself.
   * Throws a 400 WardenError for an OPTIONS request from an allowed origin that lacks
   * Access-Control-Request-Method (a malformed preflight).
   */
  apply(request: FastifyRequest, reply: FastifyReply): CorsOutcome;
}

const ALLOWED_METHODS = 'GET, POST, PUT, PATCH, DELETE';
const ALLOWED_HEADERS = 'Authorization, Content-Type, X-API-Key, X-Request-Id';
const EXPOSED_HEADERS = 'X-Request-Id, Retry-After, RateLimit, RateLimit-Policy';
const PREFLIGHT_MAX_AGE_S = '600';

/**
 * CORS from an allowlist, as a function the hardening hook calls rather than a hook of its
 * own: @fastify/cors adds a per-request hook and copies its options object on every request,
 * a measurable share of a bare route's cost, although most API traffic carries no Origin at
 * all (server-to-server calls). A request without Origin costs one header lookup here.
 *
 * With an empty list there is no policy: no CORS headers, and browsers keep their
 * same-origin rule. Credentials are allowed only for explicit origins, never with `*`.
 * A preflight from an origin that is not allowed gets no CORS headers and falls through to
 * the normal 404/405 answer, which the browser reads as a refusal.
 */
export function corsPolicy(options: CorsOptions): CorsPolicy | undefined {
  if (options.origins.length === 0) return undefined;
  const any = options.origins.includes('*');
  const allowed = new Set(options.origins);
  // With an allowlist the answer depends on Origin, so shared caches must key on it.
  const staticHeaders: Record<string, string> = any ? {} : { vary: 'Origin' };
  return {
    staticHeaders: Object.freeze(staticHeaders),
    apply(request, reply) {
      const origin = request.headers.origin;
      if (origin === undefined || !(any || allowed.has(origin))) return 'continue';
      if (any) reply.header('access-control-allow-origin', '*');
      else {
        reply.header('access-control-allow-origin', origin);
        reply.header('access-control-allow-credentials', 'true');
      }
      if (request.method !== 'OPTIONS') {
        reply.header('access-control-expose-headers', EXPOSED_HEADERS);
        return 'continue';
      }
      if (request.headers['access-control-request-method'] === undefined) {
        throw new WardenError('invalid_request', 'A CORS preflight needs an Access-Control-Request-Method header');
      }
      reply.header('access-control-allow-methods', ALLOWED_METHODS);
      reply.header('access-control-allow-headers', ALLOWED_HEADERS);
      reply.header('access-control-max-age', PREFLIGHT_MAX_AGE_S);
      reply.code(204).send();
      return 'answered';
    },
  };
}
