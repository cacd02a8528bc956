import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import { boundedMemo } from '../cache/bounded-memo.js';
import { WardenError } from '../errors/index.js';
import type { CorsOutcome, CorsPolicy } from './cors.js';
import type { HttpMetrics } from './http-metrics.js';
import { redactUrl } from './logger-options.js';
import { setLowerCaseHeaders } from './reply-header-store.js';
import { WRITES_SECURITY_HEADERS } from './header-block-response.js';
import { headerCount, hostileUrlPart, hostMatcher, isPlainHost, targetMatchesHost } from './request-guards.js';
import { DEFAULT_HSTS_MAX_AGE, securityHeaderTable } from './security-headers.js';

/**
 * Options of the `hardening` plugin. Every one is optional; the defaults are what the service
 * runs with in development (no Host restriction, no redirect, the baseline CSP, a year of HSTS
 * over HTTPS, no metrics, no CORS), so `app.register(hardening)` alone is a safe start.
 */
export interface HardeningOptions {
  /** Allowed Host values (`api.example.com`, `api.example.com:8443`, `*.example.com`); empty = any. @default [] */
  readonly trustedHosts?: readonly string[] | undefined;
  /** Redirect plain HTTP to HTTPS with 308 (health checks exempt). @default false */
  readonly httpsRedirect?: boolean | undefined;
  /** Content-Security-Policy value. @default "default-src 'self'; frame-ancestors 'none'" */
  readonly contentSecurityPolicy?: string | undefined;
  /** HSTS max-age in seconds (0 = off); sent only on HTTPS requests. @default 31536000 */
  readonly hstsMaxAge?: number | undefined;
  /** Where request counts and durations are recorded; undefined = not recorded. @default undefined */
  readonly metrics?: HttpMetrics | undefined;
  /** The CORS allowlist's policy; undefined = no CORS headers at all. @default undefined */
  readonly cors?: CorsPolicy | undefined;
}

/**
 * A check every request that matched no route must pass before its 404/405 answer (the
 * default rate limit, so that probing for routes is limited); it rejects to refuse.
 */
export type UnmatchedRequestGate = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Runs `gate` for unmatched requests inside the hardening hook, after its own checks:
     * one global hook for all requests, not one more per plugin (each costs every request).
     */
    addUnmatchedRequestGate(gate: UnmatchedRequestGate): void;
  }
}

// The health routes: load balancers and orchestrators probe them by pod or node address, with
// whatever Host that gives, and over plain HTTP. Their answers name no host.
const PROBE_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

/**
 * The request is a health probe: exactly `/healthz` or `/readyz`, before any query string, as
 * it arrived (no trailing slash, no doubled slash, no other case, nothing encoded: those are
 * other paths, whatever a router makes of them).
 */
function isProbePath(rawUrl: string): boolean {
  const q = rawUrl.indexOf('?');
  return PROBE_PATHS.has(q === -1 ? rawUrl : rawUrl.slice(0, q));
}

const HOST_VERDICTS_KEPT = 1024;

/** A GET or HEAD of a health route: exempt from the trusted-host check (the Host must still be present). */
function isHealthProbe(request: FastifyRequest): boolean {
  return (request.method === 'GET' || request.method === 'HEAD') && isProbePath(request.raw.url ?? '');
}

/**
 * The fixed headers of every response: the security headers and CORS's static `Vary`. One
 * function for the hook below, the framework-error handler and the header-block response, so
 * that they cannot drift apart.
 */
export function hardeningHeaders(options: Pick<HardeningOptions, 'contentSecurityPolicy' | 'hstsMaxAge' | 'cors'> = {}): Readonly<Record<string, string>> {
  return Object.freeze({
    ...securityHeaderTable({ contentSecurityPolicy: options.contentSecurityPolicy }),
    ...options.cors?.staticHeaders,
  });
}

/**
 * Everything every request passes through, as ONE synchronous onRequest hook, ONE onResponse
 * hook and a one-test onSend hook: each extra hook costs a few percent of a bare route's
 * throughput (bench/README.md), so the layers are composed here instead of registered one by one.
 *
 * onRequest: set the security headers and X-Request-Id, shed load while closing (503),
 * reject hostile paths, NUL or control characters in the query string and untrusted Host
 * headers (400; health probes exempt), redirect to HTTPS, apply CORS (answering preflights), then run the
 * unmatched-request gates (`addUnmatchedRequestGate`).
 * onSend: `Connection: close` once closing (nothing else).
 * onResponse: metrics (when given) and one log line.
 */
export const hardening = fp<HardeningOptions>(
  async (app: FastifyInstance, options) => {
    const trustedHosts = options.trustedHosts ?? [];
    const httpsRedirect = options.httpsRedirect === true;
    const listed = trustedHosts.length === 0 ? undefined : hostMatcher(trustedHosts);
    const trusted =
      listed === undefined ? undefined : boundedMemo((host) => isPlainHost(host) && listed(host), HOST_VERDICTS_KEPT);
    const { cors } = options;
    const headers = hardeningHeaders(options);
    for (const name of Object.keys(headers)) {
      // setLowerCaseHeaders' contract: Fastify would otherwise store these under other names.
      if (name !== name.toLowerCase() || name === 'set-cookie') throw new TypeError(`hardening header ${name} must be lower-case and not set-cookie`);
    }
    const hstsMaxAge = options.hstsMaxAge ?? DEFAULT_HSTS_MAX_AGE;
    const hsts = hstsMaxAge > 0 ? `max-age=${hstsMaxAge}; includeSubDomains` : undefined;
    const { metrics } = options;

    // Load shedding while shutting down, as Fastify's return503OnClosing would do, but as
    // problem+json with the security headers. Every response sent once closing says
    // Connection: close (onSend below), so the client's next request goes to another instance.
    let closing = false;
    const unmatchedGates: UnmatchedRequestGate[] = [];
    app.decorate('addUnmatchedRequestGate', (gate: UnmatchedRequestGate) => {
      unmatchedGates.push(gate);
    });
    const passUnmatchedGates = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
      for (const gate of unmatchedGates) await gate(request, reply);
    };
    app.addHook('preClose', (done) => {
      closing = true;
      done();
    });

    app.addHook('onRequest', (request, reply, done) => {
      // buildApp's responses write the same table themselves (header-block-response.ts).
      if ((reply.raw as unknown as Record<symbol, unknown>)[WRITES_SECURITY_HEADERS] !== true) setLowerCaseHeaders(reply, headers);
      reply.header('x-request-id', request.id);
      if (closing) {
        done(new WardenError('service_unavailable', 'The server is shutting down; retry the request'));
        return;
      }
      // X-Forwarded-Proto is passed on verbatim, and schemes are case-insensitive (RFC 3986 §3.1).
      const https = request.protocol === 'https' || request.protocol.toLowerCase() === 'https';
      if (hsts !== undefined && https) reply.header('strict-transport-security', hsts);
      const hostile = hostileUrlPart(request.raw.url ?? '');
      if (hostile !== undefined) {
        done(
          hostile === 'path'
            ? new WardenError('invalid_path', 'The request path contains "..", NUL or control characters')
            : new WardenError('validation_failed', 'The query string contains NUL or control characters'),
        );
        return;
      }
      const hostHeader = request.headers.host ?? '';
      // RFC 9112 §3.2: a 1.1 request without Host is a 400 (Node refuses it itself unless its
      // requireHostHeader is off, as buildApp sets it so that the refusal is problem+json). An
      // empty Host is allowed there (a target without an authority), as Node allows it.
      if (request.headers.host === undefined && request.raw.httpVersion === '1.1') {
        done(new WardenError('invalid_host', 'The Host header is missing'));
        return;
      }
      // RFC 9112 §3.2: more than one Host is a 400. Node keeps the first and drops the others,
      // so a proxy or cache going by another one would act on a host nobody checked.
      if (headerCount(request.raw.rawHeaders, 'host') > 1) {
        done(new WardenError('invalid_host', 'The request carries more than one Host header'));
        return;
      }
      // As for Host: Node keeps the first Content-Type, and a proxy or WAF going by another one
      // would inspect the body as something else than what is parsed here.
      if (request.headers['content-type'] !== undefined && headerCount(request.raw.rawHeaders, 'content-type') > 1) {
        done(new WardenError('invalid_request', 'The request carries more than one Content-Type header'));
        return;
      }
      // Nothing here decodes a compressed body: parsed as it stands it would be refused as bad
      // JSON, or, plain but labelled gzip, read differently than by a proxy that inflates it.
      const encoding = request.headers['content-encoding'];
      if (encoding !== undefined && !['', 'identity'].includes(encoding.trim().toLowerCase()) && hasBody(request)) {
        done(new WardenError('unsupported_media_type', 'Compressed request bodies (Content-Encoding) are not supported; send the body uncompressed'));
        return;
      }
      const target = request.raw.url ?? '';
      if (target.charCodeAt(0) !== 47 /* "/" */ && target !== '*' && !targetMatchesHost(target, hostHeader)) {
        done(new WardenError('invalid_host', 'The request target names another host than the Host header'));
        return;
      }
      if (trusted !== undefined) {
        // Behind a trusted proxy request.host is X-Forwarded-Host: the redirect below and the
        // routes (e.g. the OAuth issuer) use it, so it must be trusted as well as Host.
        const host = request.host;
        // Health probes pass with any Host (Kubernetes sends the pod IP): they name no host in
        // their answer. Looked at only once a Host has failed, so other requests pay nothing.
        if ((!trusted(hostHeader) || (host !== hostHeader && !trusted(host))) && !isHealthProbe(request)) {
          done(new WardenError('invalid_host', 'The Host header is not one of the trusted hosts'));
          return;
        }
      }
      if (httpsRedirect && !https) {
        if (!isProbePath(request.url)) {
          // Only a checked host may be named. Without trusted hosts nothing vouches for
          // X-Forwarded-Host (proxies often pass the client's on), so the Host header is used:
          // browsers cannot forge it and caches key on it.
          const target = trusted === undefined ? hostHeader : request.host;
          if (!isPlainHost(target)) {
            done(new WardenError('invalid_host', 'The Host header is not a host name to redirect to'));
            return;
          }
          // An absolute-form target ("http://…") appended to the host would change it.
          if (!request.url.startsWith('/')) {
            done(new WardenError('invalid_path', 'The request target is not a path'));
            return;
          }
          reply.redirect(`https://${target}${request.url}`, 308);
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
      if (unmatchedGates.length > 0 && request.is404) {
        passUnmatchedGates(request, reply).then(() => done(), done);
        return;
      }
      done();
    });

    // A request already in flight when closing began is answered after onRequest ran: without
    // Connection: close its keep-alive socket stays open, idle, and the graceful close waits
    // for it until WARDEN_SHUTDOWN_TIMEOUT_MS. Node closes the socket after such a response.
    app.addHook('onSend', (_request, reply, payload, done) => {
      if (closing) reply.header('connection', 'close');
      done(null, payload);
    });

    app.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? 'unmatched';
      // Label by route pattern, never the raw URL: ids in paths would explode cardinality.
      metrics?.observe(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
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

/** Whether a request says it carries a body (chunked, or a non-zero Content-Length). */
function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}
