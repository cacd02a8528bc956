import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export interface CorsOptions {
  /** Exact origins, or ['*'] (refused in production by the config checks). Empty = no CORS. */
  readonly origins: readonly string[];
}

/**
 * CORS from an allowlist. With an empty list no CORS headers are sent and browsers keep
 * their same-origin rule. Credentials are allowed only for explicit origins, never with `*`.
 */
export const corsPolicy = fp<CorsOptions>(
  async (app: FastifyInstance, options) => {
    if (options.origins.length === 0) return;
    const any = options.origins.includes('*');
    const allowed = new Set(options.origins);
    await app.register(cors, {
      origin: any ? '*' : (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
      credentials: !any,
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type', 'X-API-Key', 'X-Request-Id'],
      exposedHeaders: ['X-Request-Id', 'Retry-After', 'RateLimit', 'RateLimit-Policy'],
      maxAge: 600,
      strictPreflight: true,
    });
  },
  { name: 'warden-cors', fastify: '5.x' },
);
