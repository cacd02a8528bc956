import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import { WardenError } from '../errors/index.js';
import type { CorsOutcome, CorsPolicy } from './cors.js';
import type { HttpMetrics } from './http-metrics.js';
import { redactUrl } from './logger-options.js';
import { setLowerCaseHeaders } from './reply-header-store.js';
import { hostMatcher, isHostilePath } from './request-guards.js';
import { securityHeaderTable } from './security-headers.js';

export interface HardeningOptions {
  /** Allowed Host values (`api.example.com`, `api.example.com:8443`, `*.example.com`); empty = any. */
  readonly trustedHosts: readonly string[];
  /** Redirect plain HTTP to HTTPS with 308 (health checks exempt). */
  readonly httpsRedirect: boolean;
  readonly contentSecurityPolicy: string;
  /** HSTS max-age in seconds (0 = off); sent only on HTTPS requests. */
  readonly hstsMaxAge: number;
  readonly metrics: HttpMetrics;
  /** The CORS allowlist's policy; undefined = no CORS headers at all. */
  readonly cors?: CorsPolicy | undefined;
}

const REDIRECT_EXEMPT = new Set(['/healthz', '/readyz']);

/**
 * Everything every request passes through, as ONE synchronous onRequest hook and ONE
 * onResponse hook: each extra hook costs a few percent of a bare route's throughput
 * (bench/README.md), so the layers are composed here instead of registered one by one.
 *
 * onRequest: reject hostile paths and untrusted Host headers (400), redirect to HTTPS,
 * set the security headers and X-Request-Id, apply CORS (answering preflights).
 * onResponse: metrics and one log line.
 */
export const hardening = fp<HardeningOptions>(
  async (app: FastifyInstance, options) => {
    const trusted = options.trustedHosts.length === 0 ? undefined : hostMatcher(options.trustedHosts);
    const { cors } = options;
    const headers = Object.freeze({
      ...securityHeaderTable({ contentSecurityPolicy: options.contentSecurityPolicy, hstsMaxAge: options.hstsMaxAge }),
      ...cors?.staticHeaders,
    });
    for (const name of Object.keys(headers)) {
      // setLowerCaseHeaders' contract: Fastify would otherwise store these under other names.
      if (name !== name.toLowerCase() || name === 'set-cookie') throw new TypeError(`hardening header ${name} must be lower-case and not set-cookie`);
    }
    const hsts = options.hstsMaxAge > 0 ? `max-age=${options.hstsMaxAge}; includeSubDomains` : undefined;
    const { metrics } = options;

    app.addHook('onRequest', (request, reply, done) => {
      setLowerCaseHeaders(reply, headers);
      reply.header('x-request-id', request.id);
      const https = request.protocol === 'https';
      if (hsts !== undefined && https) reply.header('strict-transport-security', hsts);
      if (isHostilePath(request.raw.url ?? '')) {
        done(new WardenError('invalid_path', 'The request path contains "..", NUL or control characters'));
        return;
      }
      if (trusted !== undefined && !trusted(request.headers.host ?? '')) {
        done(new WardenError('invalid_host', 'The Host header is not one of the trusted hosts'));
        return;
      }
      if (options.httpsRedirect && !https) {
        const path = request.url.split('?')[0] ?? '';
        if (!REDIRECT_EXEMPT.has(path)) {
          reply.redirect(`https://${request.host}${request.url}`, 308);
          return;
        }
      }
      if (cors !== undefined) {
        let outcome: CorsOutcome;
        try {
          outcome = cors.apply(request, reply);
        } catch (error) {
          done(error as Error);
          return;
        }
        if (outcome === 'answered') return;
      }
      done();
    });

    app.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? 'unmatched';
      // Label by route pattern, never the raw URL: ids in paths would explode cardinality.
      metrics.observe(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
      // Skip building the log object at all when info is off (benchmarks, quiet deployments).
      if ((request.log as Logger).isLevelEnabled('info')) {
        request.log.info(
          {
            method: request.method,
            path: redactUrl(request.url),
            status: reply.statusCode,
            duration_ms: Math.round(reply.elapsedTime * 100) / 100,
            ip: request.ip,
            user_agent: request.headers['user-agent'],
          },
          'request',
        );
      }
      done();
    });
  },
  { name: 'warden-hardening', fastify: '5.x' },
);
