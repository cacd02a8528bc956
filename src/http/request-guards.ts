import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { WardenError } from '../errors/index.js';

export interface RequestGuardOptions {
  /** Allowed Host values (`api.example.com`, `api.example.com:8443`, `*.example.com`); empty = any. */
  readonly trustedHosts: readonly string[];
  /** Redirect plain HTTP to HTTPS with 308. */
  readonly httpsRedirect: boolean;
  /** Paths that are never redirected (health checks from inside the cluster). */
  readonly redirectExempt?: readonly string[];
}

/** Builds a matcher for trusted Host headers; entries without a port match any port. */
export function hostMatcher(trusted: readonly string[]): (host: string) => boolean {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const entry of trusted.map((h) => h.toLowerCase())) {
    if (entry.startsWith('*.')) suffixes.push(entry.slice(1));
    else exact.add(entry);
  }
  return (host) => {
    const value = host.toLowerCase();
    const withoutPort = value.replace(/:\d+$/, '');
    if (exact.has(value) || exact.has(withoutPort)) return true;
    return suffixes.some((suffix) => withoutPort.endsWith(suffix) && withoutPort.length > suffix.length);
  };
}

// `..` as a path segment (also percent-encoded, also with backslashes), NUL bytes and
// control characters: no route needs them and they are the raw material of traversal.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const BAD_PATH = /(?:^|[/\\])(?:\.|%2e){2}(?:[/\\]|%2f|%5c|$)|%00|\0|[\x01-\x1f\x7f]|%[01][0-9a-f]|%7f/i;

/** True when a raw request path carries traversal segments, NUL or control characters. */
export function isHostilePath(rawUrl: string): boolean {
  const path = rawUrl.split('?')[0] ?? '';
  return BAD_PATH.test(path);
}

/**
 * Runs before routing: rejects hostile paths and untrusted Host headers with 400, and
 * redirects to HTTPS when enabled.
 */
export const requestGuards = fp<RequestGuardOptions>(
  async (app: FastifyInstance, options) => {
    const trusted = options.trustedHosts.length === 0 ? undefined : hostMatcher(options.trustedHosts);
    const exempt = new Set(options.redirectExempt ?? ['/healthz', '/readyz']);
    app.addHook('onRequest', async (request, reply) => {
      if (isHostilePath(request.raw.url ?? '')) {
        throw new WardenError('invalid_path', 'The request path contains "..", NUL or control characters');
      }
      if (trusted !== undefined) {
        const host = request.headers.host ?? '';
        if (!trusted(host)) throw new WardenError('invalid_host', 'The Host header is not one of the trusted hosts');
      }
      if (options.httpsRedirect && request.protocol !== 'https' && !exempt.has(request.url.split('?')[0] ?? '')) {
        const host = request.host;
        return reply.redirect(`https://${host}${request.url}`, 308);
      }
    });
  },
  { name: 'warden-request-guards', fastify: '5.x' },
);
