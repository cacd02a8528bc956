import type { FastifyInstance } from 'fastify';
import { WardenError } from '../errors/index.js';

export interface HealthChecks {
  /** Named readiness probes; each resolves when its dependency answers. */
  readonly checks: Record<string, () => Promise<void>>;
}

/** `GET /healthz` (the process is up) and `GET /readyz` (every dependency answers; 503 otherwise). */
export async function healthRoutes(app: FastifyInstance, options: HealthChecks): Promise<void> {
  // No Cache-Control of its own: the hardening headers say no-store on every response.
  app.get('/healthz', { config: { public: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { public: true } }, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    const results: Record<string, string> = {};
    let ready = true;
    await Promise.all(
      Object.entries(options.checks).map(async ([name, check]) => {
        try {
          await withTimeout(check(), 2000);
          results[name] = 'ok';
        } catch {
          results[name] = 'unavailable';
          ready = false;
        }
      }),
    );
    if (!ready) {
      const failing = Object.keys(results).filter((k) => results[k] !== 'ok');
      throw new WardenError('service_unavailable', `Not ready: ${failing.join(', ')} unreachable`, {
        fields: { checks: Object.entries(results).map(([k, v]) => `${k}:${v}`) },
      });
    }
    return { status: 'ready', checks: results };
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
