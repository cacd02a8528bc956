import type { FastifyInstance } from 'fastify';
import { messageOf } from '../errors/index.js';
import { problem, sendProblem } from './problem.js';

export interface HealthChecks {
  /** Named readiness probes; each resolves when its dependency answers. */
  readonly checks: Record<string, () => Promise<void>>;
}

/** How long one readiness check may take before it counts as failed. */
const CHECK_TIMEOUT_MS = 2000;

/** `GET /healthz` (the process is up) and `GET /readyz` (every dependency answers; 503 otherwise). */
export async function healthRoutes(app: FastifyInstance, options: HealthChecks): Promise<void> {
  // No Cache-Control of its own: the hardening headers say no-store on every response.
  app.get('/healthz', { config: { public: true } }, async () => ({ status: 'ok' }));
  // Probes come every few seconds: during an outage, a line per failed probe would bury the log.
  // Only the changes are logged, once each: ready → not ready (warn, with each failing check's
  // message and no stack trace) and back (info). Ready until a probe says otherwise, so the first
  // failure after start is logged too.
  let ready = true;
  // Probes that arrive while a round of checks is running share it: /readyz needs no
  // credential, so a flood of probes costs one database and one Redis round trip at a time,
  // never one each. A probe gets the round in flight when it came, started at most one
  // check timeout earlier.
  let running: Promise<CheckRound> | undefined;
  const checkRound = (): Promise<CheckRound> => {
    running ??= runChecks(options.checks).finally(() => {
      running = undefined;
    });
    return running;
  };
  app.get('/readyz', { config: { public: true } }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const { results, reasons } = await checkRound();
    const failing = Object.keys(results).filter((k) => results[k] !== 'ok');
    if (failing.length > 0) {
      if (ready) {
        ready = false;
        request.log.warn({ checks: reasons }, `not ready: ${failing.join(', ')} unavailable`);
      }
      // The answer names what failed, never why (driver messages name hosts and users). Sent
      // here rather than thrown: the error handler logs every 5xx it renders, with its stack.
      return sendProblem(
        reply,
        problem('service_unavailable', `Not ready: ${failing.join(', ')} unreachable`, {
          requestId: request.id,
          fields: { checks: Object.entries(results).map(([k, v]) => `${k}:${v}`) },
        }),
      );
    }
    if (!ready) {
      ready = true;
      request.log.info('ready again');
    }
    return { status: 'ready', checks: results };
  });
}

/** What one round of readiness checks found: each check's state, and why the failing ones failed. */
interface CheckRound {
  readonly results: Record<string, string>;
  readonly reasons: Record<string, string>;
}

async function runChecks(checks: HealthChecks['checks']): Promise<CheckRound> {
  const results: Record<string, string> = {};
  const reasons: Record<string, string> = {};
  await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        await withTimeout(check(), CHECK_TIMEOUT_MS);
        results[name] = 'ok';
      } catch (error) {
        results[name] = 'unavailable';
        reasons[name] = messageOf(error);
      }
    }),
  );
  return { results, reasons };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
