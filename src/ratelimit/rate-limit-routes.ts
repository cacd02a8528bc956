import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { RATE_LIMIT_ALGORITHMS, SLIDING_LOG_MAX_LIMIT } from './policy.js';
import type { RateLimitService } from './rate-limit-service.js';
import { ValidationError } from '../errors/index.js';

/** The longest window of a service sliding log (its entries live as long as the window). */
const SLIDING_LOG_MAX_WINDOW_MS = 86_400_000;

const CheckBody = Type.Object(
  {
    identifier: Type.String({ minLength: 1, maxLength: 256 }),
    limit: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }),
    window_ms: Type.Integer({ minimum: 1, maximum: 31 * 86_400_000 }),
    cost: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000 })),
    namespace: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' })),
    algorithm: Type.Optional(Type.Union(RATE_LIMIT_ALGORITHMS.map((a) => Type.Literal(a)))),
  },
  { additionalProperties: false },
);

const CheckResponse = Type.Object(
  {
    allowed: Type.Boolean(),
    limit: Type.Integer(),
    remaining: Type.Integer(),
    reset_ms: Type.Integer(),
    retry_after_ms: Type.Integer(),
  },
  { additionalProperties: false },
);

/**
 * `POST /v1/ratelimit`: rate limiting as a service for other applications. Counters are
 * shared by `namespace` + `identifier` + policy (algorithm, limit, window) across every
 * caller and instance.
 */
export async function rateLimitRoutes(app: FastifyInstance, service: RateLimitService): Promise<void> {
  app.post<{ Body: Static<typeof CheckBody> }>(
    '/v1/ratelimit',
    {
      // Callers are trusted applications making many checks from few addresses: the per-IP
      // default limit would throttle the service itself, so an authenticated caller spends no
      // per-IP budget. A caller failing authentication does (the default policies, per IP,
      // checked before authentication): a flood of bad credentials is answered 429 before it
      // reaches the key lookup and the audit log.
      config: { permission: 'ratelimit:check', rateLimit: { charge: 'failed_auth' } },
      schema: { body: CheckBody, response: { 200: CheckResponse } },
    },
    async (request) => {
      const body = request.body;
      const algorithm = body.algorithm ?? 'sliding-window';
      // A cost over the limit can never fit; the stores deny it and, with a block, start the
      // block (Warden's own day lock relies on that). A caller's check is not the place for it.
      if ((body.cost ?? 1) > body.limit) {
        throw new ValidationError(`body.cost must be <= body.limit (${body.limit}): a larger cost can never be allowed`, { field: 'body.cost' });
      }
      if (algorithm === 'sliding-log' && body.limit > SLIDING_LOG_MAX_LIMIT) {
        throw new ValidationError(`body.limit must be <= ${SLIDING_LOG_MAX_LIMIT} with the sliding-log algorithm`, { field: 'body.limit' });
      }
      // A sliding log keeps an entry per unit of cost for its whole window, in the Redis that
      // also holds Warden's lockouts: what one request can pin there is bounded in time too.
      if (algorithm === 'sliding-log' && body.window_ms > SLIDING_LOG_MAX_WINDOW_MS) {
        throw new ValidationError(`body.window_ms must be <= ${SLIDING_LOG_MAX_WINDOW_MS} (1 day) with the sliding-log algorithm`, { field: 'body.window_ms' });
      }
      // The stores key counters by the whole policy (see `policyCounterId`), so "5 per second"
      // and "100 per hour" on one identifier are two counters, and no caller can reset or
      // drain another policy's counter by sending a different window.
      const limiter = service.limiter({ name: `svc:${body.namespace ?? 'default'}`, algorithm, limit: body.limit, windowMs: body.window_ms });
      return limiter.limit(body.identifier, body.cost ?? 1);
    },
  );
}
