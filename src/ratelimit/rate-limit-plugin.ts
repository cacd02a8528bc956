import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import fp from 'fastify-plugin';
import { LRUCache } from 'lru-cache';
import type { AuditRecorder } from '../audit/audit-event.js';
import { WardenError } from '../errors/index.js';
import '../http/hardening.js';
import { asArray } from '../http/route-lists.js';
import { clientAddressKey } from './client-key.js';
import { createMemoryStore } from './memory-store.js';
import type { PolicyLimit, RateLimitAlgorithm, RateLimitPolicy } from './policy.js';
import { limiterFor, memoryPartitionOf, type RateLimitService } from './rate-limit-service.js';
import { rateLimitHeader, rateLimitPolicyHeader, retryAfterSeconds, type AdvertisedPolicy } from './rate-limit-headers.js';
import type { RateLimitDecision, RateLimiter } from './rate-limiter.js';
import type { RateLimitStore } from './store.js';
import { actorId } from '../authz/audit-actor.js';

/** How a route's requests are grouped: per client IP, per caller, per route, or custom. */
export type RateLimitKey = 'ip' | 'user' | 'api_key' | 'principal' | 'route' | ((request: FastifyRequest) => string | undefined);

/** Per-route options (`config: { rateLimit: … }`); `false` exempts the route. */
export interface RouteRateLimit {
  /** Replaces the default /v1 (or auth) policies for this route. */
  readonly policies?: readonly (PolicyLimit & { readonly algorithm?: RateLimitAlgorithm })[];
  /**
   * `user`, `api_key` and `principal` are applied after authentication (they need the
   * caller) and fall back to the client IP when the caller is anonymous or of another kind.
   * A custom function returning undefined also falls back to the IP. @default 'ip'
   */
  readonly key?: RateLimitKey;
  /** Cost of one request. @default 1 */
  readonly cost?: number;
  /**
   * What spends the budget. `'request'`: every request. `'failed_auth'`: every request is
   * checked against the budget before authentication (429 once it is spent), but only a request
   * answered 401 spends it, so an authenticated caller is never limited by its address — for
   * routes whose callers legitimately send many requests from few addresses (`POST
   * /v1/ratelimit`), as the login throttle counts only failed logins per IP. Per client IP only;
   * a policy without a block is given one of its window. @default 'request'
   */
  readonly charge?: 'request' | 'failed_auth';
  /**
   * Where the route's counters live. `'shared'`: the service's store (Redis when configured,
   * under its failure policy). `'local'`: this process's memory, always, so the limit keeps
   * deciding while Redis is down, per instance — for routes that must answer during a Redis
   * outage and whose limit only slows guessing (`GET /metrics`). @default 'shared'
   */
  readonly store?: 'shared' | 'local';
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Rate limit of this route; `false` = none. Default: the /v1 limit (or the auth limit). */
    rateLimit?: false | RouteRateLimit;
  }
}

export interface RateLimitPluginOptions {
  readonly service: RateLimitService;
  /**
   * Per IP on every /v1 route; also, each on a budget of its own, on a route outside /v1 that
   * asks for a limit without policies of its own, and for failed authentications
   * (`charge: 'failed_auth'`).
   */
  readonly defaultPolicies: readonly PolicyLimit[];
  /** Per IP on the auth routes, instead of the default. */
  readonly authPolicies: readonly PolicyLimit[];
  readonly algorithm: RateLimitAlgorithm;
  /** @default ['/v1/auth/login', '/v1/auth/refresh', '/oauth/token'] */
  readonly authRoutes?: readonly string[];
  /** Receives a sampled `ratelimit.blocked` event (at most one per policy and key per minute). */
  readonly audit?: AuditRecorder;
}

interface Plan {
  readonly group: string;
  readonly limiters: readonly RateLimiter[];
  /** Every limiter answers synchronously (in-memory counters): the hook needs no promise. */
  readonly decidesNow: boolean;
  readonly advertised: readonly AdvertisedPolicy[];
  readonly policyHeader: string;
  readonly key: RateLimitKey;
  readonly afterAuth: boolean;
  /**
   * A caller-keyed plan over the same counters as the per-IP plan that ran before it: for an
   * anonymous caller it would charge that IP counter a second time, so it is skipped then.
   */
  readonly skipIpFallback: boolean;
  readonly cost: number;
}

interface RoutePlans {
  readonly early: Plan | null;
  readonly late: Plan | null;
  /** Charged when the request was answered 401 (`charge: 'failed_auth'`); `early` then only looks. */
  readonly failures: Plan | null;
}

/** A route's rate-limit hooks; absent = the route needs none at that stage. */
interface RouteHooks {
  readonly onRequest?: RouteHook;
  readonly preHandler?: RouteHook;
  readonly onResponse?: RouteHook;
}

type RouteHook = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;

const NO_PLANS: RoutePlans = { early: null, late: null, failures: null };
const AUDIT_SAMPLE_MS = 60_000;

/**
 * Applies the rate limits as route-level onRequest hooks (before authentication, so floods
 * never reach the password hashing or token checks); caller-keyed limits run as a preHandler
 * after the auth guard, and a `failed_auth` budget is spent in onResponse after a 401. Sets
 * `RateLimit-Policy`/`RateLimit` on every limited response and answers 429
 * problem+json `rate_limited` with `Retry-After` when a policy is exceeded.
 */
async function rateLimitPlugin(app: FastifyInstance, options: RateLimitPluginOptions): Promise<void> {
  const { service } = options;
  const authRoutes = new Set(options.authRoutes ?? ['/v1/auth/login', '/v1/auth/refresh', '/oauth/token']);
  const audited = new LRUCache<string, number>({ max: 10_000 });
  // Counters of `store: 'local'` routes: made on first use, and only when the service's own
  // store is not already this process's memory (which then serves them, with its configured bound).
  let localStore: RateLimitStore | undefined;
  const localLimiter = (policy: RateLimitPolicy): RateLimiter => {
    if (service.backend === 'memory') return service.limiter(policy);
    localStore ??= createMemoryStore({ partitionOf: memoryPartitionOf });
    return limiterFor(localStore, policy);
  };

  const makePlan = (
    group: string,
    policies: readonly (PolicyLimit & { algorithm?: RateLimitAlgorithm })[],
    key: RateLimitKey,
    cost: number,
    store: 'shared' | 'local' = 'shared',
  ): Plan | null => {
    if (policies.length === 0) return null;
    const advertised = advertisedPolicies(group, policies);
    const limiterOf = store === 'local' ? localLimiter : (policy: RateLimitPolicy): RateLimiter => service.limiter(policy);
    const limiters = policies.map((p, i) =>
      limiterOf({ name: `http:${group}:${advertised[i]?.name ?? i}`, algorithm: p.algorithm ?? options.algorithm, limit: p.limit, windowMs: p.windowMs, blockDurationMs: p.blockDurationMs }),
    );
    const decidesNow = limiters.every((limiter) => limiter.limitNow !== undefined);
    return { group, limiters, decidesNow, advertised, policyHeader: rateLimitPolicyHeader(advertised), key, afterAuth: isAfterAuth(key), skipIpFallback: false, cost };
  };
  const defaultPlan = makePlan('default', options.defaultPolicies, 'ip', 1);
  const authPlan = makePlan('auth', options.authPolicies, 'ip', 1);

  /**
   * The plans of a `charge: 'failed_auth'` route: `early` looks at the budget (cost 0) before
   * authentication, `failures` spends it after a 401. A look never denies while a count is at
   * its limit (a spend over the limit is refused instead), so the spend that goes over starts a
   * block and the looks deny from then on: the login throttle's scheme.
   */
  function failedAuthPlans(id: string, config: RouteRateLimit): RoutePlans {
    if (config.key !== undefined && config.key !== 'ip') throw new TypeError(`route ${id}: rateLimit.charge 'failed_auth' counts per client IP; it takes no key`);
    const policies = (config.policies ?? options.defaultPolicies).map((p) => ({ ...p, blockDurationMs: Math.max(p.blockDurationMs, p.windowMs) }));
    const plan = makePlan(config.policies === undefined ? 'failed-auth' : `route:${id}`, policies, 'ip', config.cost ?? 1, config.store);
    return plan === null ? NO_PLANS : { early: { ...plan, cost: 0 }, late: null, failures: plan };
  }

  /** `early` runs before authentication; `late` (caller-keyed) after it. Computed once per route. */
  function plansForRoute(method: string, url: string, config: false | RouteRateLimit | undefined): RoutePlans {
    // Fastify answers HEAD with the GET handler: both must draw on one budget, or HEAD doubles it.
    const id = `${budgetMethod(method)} ${url}`;
    if (config === false) return NO_PLANS;
    // Outside /v1 a route is limited only when it asks to be (an object, e.g. `{ key: 'ip' }`
    // on /metrics and the OAuth endpoints). It then has the default policies per IP on a
    // budget of its own: a scraper or a resource server must not be starved by its address's
    // /v1 traffic, nor spend that traffic's budget.
    const base =
      config?.store === 'local'
        ? localBasePlan(id, url)
        : authRoutes.has(url)
          ? authPlan
          : url.startsWith('/v1/')
            ? defaultPlan
            : config === undefined
              ? null
              : makePlan(`default:${id}`, options.defaultPolicies, 'ip', 1);
    if (config === undefined) return base === null ? NO_PLANS : { early: base, late: null, failures: null };
    const key = config.key ?? 'ip';
    // Checked once here: a cost of 0 would only peek (no limit at all), and a negative or
    // fractional one would throw a TypeError on every request of the route.
    if (config.cost !== undefined && (!Number.isSafeInteger(config.cost) || config.cost < 1)) {
      throw new TypeError(`route ${id}: rateLimit.cost must be an integer >= 1 (use rateLimit: false for no limit)`);
    }
    if (config.charge === 'failed_auth') return failedAuthPlans(id, config);
    const plan =
      config.policies !== undefined ? makePlan(`route:${id}`, config.policies, key, config.cost ?? 1, config.store) : base === null ? null : rekeyed(base, key, config.cost ?? base.cost);
    // A caller-keyed limit runs after authentication; the per-IP limit still runs before it,
    // so that unauthenticated floods are limited too.
    return plan?.afterAuth === true ? { early: base, late: plan, failures: null } : { early: plan, late: null, failures: null };
  }

  /**
   * The per-IP plan of a `store: 'local'` route: the same policies and names as its shared
   * counterpart (the auth, /v1 or own budget), counted in this process.
   */
  function localBasePlan(id: string, url: string): Plan | null {
    if (authRoutes.has(url)) return makePlan('auth', options.authPolicies, 'ip', 1, 'local');
    return makePlan(url.startsWith('/v1/') ? 'default' : `default:${id}`, options.defaultPolicies, 'ip', 1, 'local');
  }

  /**
   * The base plan's policies and counters under another key. Keyed by caller, it runs after the
   * per-IP base plan on the same route, so its policies are advertised under names of their own
   * (`default-user-60s`): the headers list both, and one name must not stand for two budgets.
   */
  function rekeyed(base: Plan, key: RateLimitKey, cost: number): Plan {
    const afterAuth = isAfterAuth(key);
    if (!afterAuth) return { ...base, key, cost, afterAuth, skipIpFallback: false };
    const keyName = typeof key === 'string' ? key : 'caller';
    const advertised = base.advertised.map((p) => ({ ...p, name: p.name.replace(base.group, `${base.group}-${keyName}`) }));
    return { ...base, key, cost, afterAuth, skipIpFallback: cost === base.cost, advertised, policyHeader: rateLimitPolicyHeader(advertised) };
  }

  /** Applies a plan; `route` is the route pattern (known when the hook was made) or 'unmatched'. */
  function apply(plan: Plan, request: FastifyRequest, reply: FastifyReply, route: string): Promise<void> {
    try {
      return applyNow(plan, request, reply, route) ?? Promise.resolve();
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /**
   * `apply`, synchronous when the counters are in this process (undefined = done; a refusal is
   * thrown); a promise when a limiter must wait (Redis). In-memory limits thus cost a request
   * no promise and no trip through the microtask queue.
   */
  function applyNow(plan: Plan, request: FastifyRequest, reply: FastifyReply, route: string): Promise<void> | undefined {
    const callerKey = keyFor(plan.key, request);
    if (callerKey === undefined && plan.skipIpFallback) return undefined;
    const key = callerKey ?? clientAddressKey(request.ip);
    if (plan.decidesNow) {
      const decisions = plan.limiters.map((limiter) => (limiter.limitNow as NonNullable<RateLimiter['limitNow']>)(key, plan.cost));
      settle(plan, key, request, reply, route, decisions);
      return undefined;
    }
    const only = plan.limiters.length === 1 ? plan.limiters[0] : undefined;
    // The common case (one policy) skips Promise.all's extra allocations.
    const decided = only !== undefined ? only.limit(key, plan.cost).then((decision) => [decision]) : Promise.all(plan.limiters.map((limiter) => limiter.limit(key, plan.cost)));
    return decided.then((decisions) => settle(plan, key, request, reply, route, decisions));
  }

  /** Counts the decisions and sets the RateLimit headers; throws `rate_limited` when one refused. */
  function settle(plan: Plan, key: string, request: FastifyRequest, reply: FastifyReply, route: string, decisions: readonly RateLimitDecision[]): void {
    let retryMs = 0;
    decisions.forEach((decision, i) => {
      service.metrics.recordDecision(plan.advertised[i]?.name ?? '', route, decision.allowed);
      if (!decision.allowed) retryMs = Math.max(retryMs, decision.retry_after_ms);
    });
    // A route can have two plans (per IP before authentication, per caller after): the second
    // adds its items to the first's, as the headers list every policy that applies.
    const listed = (name: string, items: string): string => {
      const before = reply.getHeader(name);
      return typeof before === 'string' && before !== '' ? `${before}, ${items}` : items;
    };
    if (retryMs === 0) {
      // A look (cost 0, `failed_auth`) is not the request's budget: no headers until it denies.
      if (plan.cost > 0) {
        reply.header('ratelimit-policy', listed('ratelimit-policy', plan.policyHeader));
        reply.header('ratelimit', listed('ratelimit', rateLimitHeader(plan.advertised, decisions)));
      }
      return;
    }
    const headers: Record<string, string> = {
      'ratelimit-policy': listed('ratelimit-policy', plan.policyHeader),
      ratelimit: listed('ratelimit', rateLimitHeader(plan.advertised, decisions)),
    };
    recordBlocked(plan, key, request, decisions);
    const seconds = retryAfterSeconds(retryMs);
    throw new WardenError('rate_limited', `Too many requests; retry in ${seconds} s`, {
      headers: { ...headers, 'retry-after': String(seconds) },
      fields: { retry_after_s: seconds },
    });
  }

  function recordBlocked(plan: Plan, key: string, request: FastifyRequest, decisions: readonly RateLimitDecision[]): void {
    if (options.audit === undefined) return;
    const sampleKey = `${plan.group}|${key}`;
    const now = Date.now();
    const last = audited.get(sampleKey);
    if (last !== undefined && now - last < AUDIT_SAMPLE_MS) return;
    audited.set(sampleKey, now);
    const principal = request.principal;
    options.audit
      .record({
        action: 'ratelimit.blocked',
        // Spelt as every other event's actor, so that one `actor` filter finds the blocks too.
        actor: actorId(principal),
        outcome: 'denied',
        ip: request.ip,
        request_id: request.id,
        details: {
          route: request.routeOptions.url ?? 'unmatched',
          policies: plan.advertised.filter((_, i) => decisions[i]?.allowed === false).map((p) => p.name),
          key_kind: key.slice(0, key.indexOf(':')),
        },
      })
      .catch((error: unknown) => {
        // Not on record, so the window is not spent: the client's next block tries again.
        if (audited.get(sampleKey) === now) audited.delete(sampleKey);
        request.log.warn({ err: error }, 'could not audit a rate-limit block');
      });
  }

  /** Spends a `failed_auth` budget for a request answered 401; a failing store is logged, not thrown (the answer is gone). */
  function chargeFailure(plan: Plan, request: FastifyRequest): void {
    const key = clientAddressKey(request.ip);
    const failed = (error: unknown): void => request.log.warn({ err: error }, 'could not count a failed authentication');
    for (const limiter of plan.limiters) {
      try {
        if (limiter.limitNow !== undefined) limiter.limitNow(key, plan.cost);
        else limiter.limit(key, plan.cost).catch(failed);
      } catch (error) {
        failed(error);
      }
    }
  }

  // Unmatched paths count too, whatever their prefix (`/V1/`, `//v1`, `/.env`), so that probing
  // for routes is limited as well. Inside the hardening hook when it is there (one global hook
  // fewer for every request); else as the only global hook, returning at once for matched routes.
  const unmatched = defaultPlan;
  if (unmatched !== null) {
    const gate = (request: FastifyRequest, reply: FastifyReply): Promise<void> => apply(unmatched, request, reply, 'unmatched');
    if (app.hasDecorator('addUnmatchedRequestGate')) {
      app.addUnmatchedRequestGate(gate);
    } else {
      app.addHook('onRequest', (request, reply, done) => {
        if (!request.is404) {
          done();
          return;
        }
        gate(request, reply).then(() => done(), done);
      });
    }
  }

  /** The hooks of a route, made once when it is registered (one plan per method, usually the same). */
  function routeHooks(methods: readonly string[], url: string, config: false | RouteRateLimit | undefined): RouteHooks {
    const byMethod = new Map(methods.map((method) => [method, plansForRoute(method, url, config)]));
    const planOf = (stage: keyof RoutePlans): ((method: string) => Plan | null) | undefined => {
      const plans = [...byMethod.values()].map((p) => p[stage]);
      if (plans.every((p) => p === null)) return undefined;
      const [first] = plans;
      // One plan for every method (the usual case): no lookup per request.
      if (plans.every((p) => p === first)) return () => first ?? null;
      return (method) => byMethod.get(method)?.[stage] ?? null;
    };
    const hookOf = (stage: 'early' | 'late'): RouteHook | undefined => {
      const planFor = planOf(stage);
      if (planFor === undefined) return undefined;
      // A callback hook, not an async one, so that an in-memory decision costs no promise.
      return (request, reply, done) => {
        const plan = planFor(request.method);
        let pending: Promise<void> | undefined;
        try {
          pending = plan === null ? undefined : applyNow(plan, request, reply, url);
        } catch (error) {
          done(error as Error);
          return;
        }
        if (pending === undefined) done();
        else pending.then(() => done(), done);
      };
    };
    const failuresFor = planOf('failures');
    const onResponse: RouteHook | undefined =
      failuresFor === undefined
        ? undefined
        : (request, reply, done) => {
            // 403 too: a caller that authenticates but may not use the route (e.g. POST
            // /v1/ratelimit, exempt from the per-IP budget for its permitted callers) must not
            // get unlimited credential checks and authorization lookups from one address.
            const plan = reply.statusCode === 401 || reply.statusCode === 403 ? failuresFor(request.method) : null;
            if (plan !== null) chargeFailure(plan, request);
            done();
          };
    return { onRequest: hookOf('early'), preHandler: hookOf('late'), onResponse };
  }

  // Matched routes get their limits as route-level hooks, computed once when the route is
  // registered: routes without a policy (health) pay nothing per request. The per-IP
  // limit is put before every other onRequest hook (the auth guard's included), so floods
  // never reach password hashing or token checks; caller-keyed limits need the principal and
  // run as a preHandler after the auth guard.
  app.addHook('onRoute', (route) => {
    const config = (route.config as { rateLimit?: false | RouteRateLimit } | undefined)?.rateLimit;
    const hooks = routeHooks(asArray(route.method), route.url, config);
    if (hooks.onRequest !== undefined) route.onRequest = [hooks.onRequest, ...asArray(route.onRequest)];
    if (hooks.preHandler !== undefined) route.preHandler = [...asArray(route.preHandler), hooks.preHandler];
    if (hooks.onResponse !== undefined) route.onResponse = [...asArray(route.onResponse), hooks.onResponse];
  });
}

/** The method whose budget a request draws on: HEAD shares GET's (same handler, same work). */
function budgetMethod(method: string): string {
  return method === 'HEAD' ? 'GET' : method;
}

/**
 * The advertised names of a plan's policies, `<group>-<window>`: whole seconds as `60s`, others
 * in ms. The name also names the counters, so two policies of one plan must never share one
 * (500 ms and 1 s both rounded to `1s` once, and each request was charged twice to one counter).
 */
function advertisedPolicies(group: string, policies: readonly PolicyLimit[]): AdvertisedPolicy[] {
  const seen = new Set<string>();
  return policies.map((p, i) => {
    const window = p.windowMs % 1000 === 0 ? `${p.windowMs / 1000}s` : `${p.windowMs}ms`;
    let name = `${group}-${window}`;
    if (seen.has(name)) name = `${name}-${i + 1}`;
    seen.add(name);
    return { name, limit: p.limit, windowMs: p.windowMs };
  });
}

function isAfterAuth(key: RateLimitKey | undefined): boolean {
  return key === 'user' || key === 'api_key' || key === 'principal';
}

/** The counter key of a request under a plan's keying; undefined = fall back to the client IP. */
function keyFor(key: RateLimitKey, request: FastifyRequest): string | undefined {
  const principal = request.principal;
  switch (key) {
    case 'ip':
      return clientAddressKey(request.ip);
    case 'route':
      return `route:${budgetMethod(request.method)} ${request.routeOptions.url ?? 'unmatched'}`;
    case 'user':
      return principal?.kind === 'user' ? `user:${principal.subject}` : undefined;
    case 'api_key':
      return principal?.kind === 'api_key' ? `api_key:${principal.keyId ?? principal.credentialId}` : undefined;
    case 'principal':
      return principal === undefined ? undefined : `${principal.kind}:${principal.kind === 'api_key' ? (principal.keyId ?? principal.credentialId) : principal.subject}`;
    default: {
      const custom = key(request);
      return custom === undefined ? undefined : `custom:${custom}`;
    }
  }
}

/** The Fastify plugin; register it before the route modules and after the auth guard. */
export const rateLimits = fp(rateLimitPlugin, { name: 'warden-rate-limits', fastify: '5.x' });
