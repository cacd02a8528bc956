import { isIPv4 } from 'node:net';
import { Type } from '@sinclair/typebox';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import { authenticate, authGuard } from '../http/auth-guard.js';
import { corsPolicy } from '../http/cors.js';
import { clientErrorHandler, expectationFailedHandler, frameworkErrorHandler, installErrorHandlers } from '../http/error-handler.js';
import { hardening, hardeningHeaders } from '../http/hardening.js';
import { headerBlockResponse } from '../http/header-block-response.js';
import { HttpMetrics } from '../http/http-metrics.js';
import { installJsonBodyParser } from '../http/json-body.js';
import { asArray } from '../http/route-lists.js';
import { lazyLogger } from '../http/lazy-logger.js';
import { metrics } from '../http/metrics.js';
import { requestIdFrom } from '../http/request-id.js';
import { validatorCompiler } from '../http/validation.js';
import { parsePolicyList } from '../ratelimit/policy.js';
import { rateLimits } from '../ratelimit/rate-limit-plugin.js';
import '../http/route-config.js';
import type { AppContext } from './app-context.js';
import { ROUTE_MODULES, type RouteModule } from './routes/index.js';
import { pinTickObjectShape } from './tick-object-shape.js';

/** The query schema of a /v1 route that takes no query fields. */
const NO_QUERY_FIELDS = Type.Object({}, { additionalProperties: false });
const NO_BODY_FIELDS = Type.Object({}, { additionalProperties: false });
const BODY_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Lets a route that takes no body be called without one: no body reads as the empty object. */
async function emptyBodyWhenNone(request: { body: unknown }): Promise<void> {
  request.body ??= {};
}

/** Whose X-Forwarded-* headers Fastify believes: `(peer address, hop index) => trusted`. */
type TrustProxy = boolean | string[] | ((address: string, hop: number) => boolean);

/**
 * Translates WARDEN_TRUST_PROXY into Fastify's trustProxy. A hop count must become a function:
 * Fastify 5.12 maps a plain number to "trust nothing" (lib/request.js getTrustProxyFn), which
 * made request.ip the proxy's address and ignored X-Forwarded-Proto (no HSTS, HTTPS redirect
 * loops). proxy-addr asks the function about hop 0 (the socket peer), then hop 1 (the last
 * X-Forwarded-For entry) and so on, stopping at the first untrusted hop, so `hop < n` trusts
 * exactly the n nearest proxies, as Express does; entries further left were written by the
 * client and are never believed. 0 hops is the same as false.
 */
function fastifyTrustProxy(setting: boolean | number | readonly string[]): TrustProxy {
  if (typeof setting === 'boolean') return setting;
  if (typeof setting === 'number') {
    if (setting <= 0) return false;
    return (_address, hop) => hop < setting;
  }
  return setting.flatMap(splitWholeFamily);
}

/**
 * proxy-addr refuses a /0 range ("invalid range"), which crashed the app factory with a bare
 * TypeError. A /0 means every address of its family, so it becomes the two /1 halves that cover
 * the same addresses; production refuses such a setting anyway (production-checks.ts).
 */
function splitWholeFamily(entry: string): string[] {
  const [address = '', prefix] = entry.split('/');
  if (prefix === undefined || Number(prefix) !== 0) return [entry];
  return isIPv4(address) ? ['0.0.0.0/1', '128.0.0.0/1'] : ['::/1', '8000::/1'];
}

export interface BuildAppOptions {
  /** Route modules to mount. @default ROUTE_MODULES */
  readonly routes?: readonly RouteModule[];
}

/** Builds the Fastify app from a context: hardening first, then every route module. No globals. */
export async function buildApp(context: AppContext, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  pinTickObjectShape();
  const { settings } = context;
  const cors = corsPolicy({ origins: settings.corsOrigins });
  const fixedHeaders = hardeningHeaders({ contentSecurityPolicy: settings.contentSecurityPolicy, hstsMaxAge: settings.hstsMaxAge, cors });
  // The security headers go into every response head as one block written by the response
  // itself (far cheaper than setting them per request); the hardening hook sets them per
  // request only where a response cannot (Fastify's inject, or a Node without the hook).
  const responseClass = headerBlockResponse(fixedHeaders);
  const app = Fastify({
    // A HTTP/1.1 request without Host is refused by the hardening hook as problem+json; Node's
    // own refusal is an empty 400.
    http: {
      requireHostHeader: false,
      // One deadline for the whole request: headers and body (Node swaps the two when the
      // headers' one is the larger, so both are set).
      headersTimeout: settings.requestTimeoutMs,
      // Node looks for late requests this often (30 s by default): a fraction of the deadline,
      // so that it holds within a quarter.
      connectionsCheckingInterval: Math.min(30_000, Math.max(250, Math.floor(settings.requestTimeoutMs / 4))),
      ...(responseClass === undefined ? {} : { ServerResponse: responseClass }),
    },
    requestTimeout: settings.requestTimeoutMs,
    loggerInstance: lazyLogger(context.logger),
    // One log line per request, written in onResponse below (Fastify's default is two).
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    bodyLimit: settings.bodyLimit,
    trustProxy: fastifyTrustProxy(settings.trustProxy),
    genReqId: requestIdFrom,
    requestIdHeader: false,
    // Fastify's own 503 while closing is raw JSON without security headers: the hardening hook
    // answers those requests instead.
    return503OnClosing: false,
    // Fastify answers a malformed path before any hook runs; give it the hardening headers.
    frameworkErrors: frameworkErrorHandler(fixedHeaders),
    // And Node's HTTP parser refuses some requests before Fastify sees them at all.
    clientErrorHandler: clientErrorHandler(fixedHeaders, context.logger),
    routerOptions: { maxParamLength: 200, ignoreTrailingSlash: false },
  });
  app.server.on('checkExpectation', expectationFailedHandler(fixedHeaders, responseClass !== undefined));
  app.setValidatorCompiler(validatorCompiler);
  // JSON only: the text/plain parser is removed so a wrong content type gets 415.
  app.removeContentTypeParser('text/plain');
  // An empty body sent as JSON is no body, so optional bodies may be left out by any client.
  installJsonBodyParser(app);

  // A shadow router of every registered route tells 405 (path exists, other method) from 404.
  const shadow = FindMyWay();
  app.addHook('onRoute', (route) => {
    for (const method of asArray(route.method)) {
      if (method === 'HEAD') continue;
      shadow.on(method as HTTPMethod, route.url, () => undefined);
    }
    // "Unknown query fields are 400 like every unknown field" (docs/architecture.md): a /v1
    // route that takes none says so. OAuth's endpoints must ignore unknown parameters (RFC 6749
    // §3.2), and probes and discovery documents take what callers add.
    if (route.url.startsWith('/v1/') && route.schema?.querystring === undefined) {
      route.schema = { ...route.schema, querystring: NO_QUERY_FIELDS };
    }
    // Likewise a body: a /v1 route that takes none (logout-all, a DELETE) refuses one with
    // fields rather than act as if `{"dry_run": true}` had not been sent.
    if (route.url.startsWith('/v1/') && route.schema?.body === undefined && asArray(route.method).some((m) => BODY_METHODS.has(m))) {
      route.schema = { ...route.schema, body: NO_BODY_FIELDS };
      route.preValidation = [emptyBodyWhenNone, ...asArray(route.preValidation ?? [])];
    }
  });
  installErrorHandlers(app, (method, path) => {
    const allowed: string[] = (['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const).filter((m) => m !== method && shadow.find(m, path) !== null);
    // Every GET route answers HEAD too (Fastify's exposeHeadRoutes), and Allow lists them all.
    if (method !== 'HEAD' && shadow.find('GET', path) !== null) allowed.splice(allowed.indexOf('GET') + 1, 0, 'HEAD');
    return allowed;
  });

  const httpMetrics = new HttpMetrics();
  httpMetrics.register(context.metricsRegistry);
  await app.register(hardening, {
    trustedHosts: settings.trustedHosts,
    httpsRedirect: settings.httpsRedirect,
    contentSecurityPolicy: settings.contentSecurityPolicy,
    hstsMaxAge: settings.hstsMaxAge,
    metrics: httpMetrics,
    cors,
  });
  await app.register(authGuard, {
    authenticators: context.authenticators,
    authorize: (principal, permission, scope) => context.authorize(principal, permission, scope),
  });

  // After the auth guard so that caller-keyed limits (a preHandler) see the principal; the
  // per-IP limits run in onRequest, before authentication.
  context.rateLimits.metrics.register(context.metricsRegistry);
  await app.register(rateLimits, {
    service: context.rateLimits,
    defaultPolicies: parsePolicyList(settings.rateLimitDefault),
    authPolicies: parsePolicyList(settings.rateLimitAuth),
    algorithm: settings.rateLimitAlgorithm,
    audit: { record: (event) => context.audit.record(event) },
  });
  // After the rate limits, whose onRoute hook gives /metrics its per-IP limit before it
  // authenticates the caller.
  await app.register(metrics, {
    registry: context.metricsRegistry,
    token: settings.metricsToken,
    authorize: async (request) => context.authorize(await authenticate(request, context.authenticators), 'metrics:read'),
  });

  for (const module of options.routes ?? ROUTE_MODULES) await module(app, context);
  return app;
}
