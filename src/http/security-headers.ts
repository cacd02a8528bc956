import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export interface SecurityHeadersOptions {
  /** Content-Security-Policy value. @default "default-src 'self'; frame-ancestors 'none'" */
  readonly contentSecurityPolicy: string;
  /** HSTS max-age in seconds; 0 disables HSTS. Sent only on HTTPS requests. @default 31536000 */
  readonly hstsMaxAge: number;
  /** @default "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()" */
  readonly permissionsPolicy?: string;
}

const DEFAULT_PERMISSIONS_POLICY =
  'accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()';

/** Parses "default-src 'self'; frame-ancestors 'none'" into helmet's directive object. */
function parseCsp(value: string): Record<string, string[]> {
  const directives: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const part of value.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name === undefined || name === '') continue;
    directives[name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] = sources;
  }
  return directives;
}

/**
 * Security headers on every response (errors and 404s included): helmet's set with a strict
 * CSP, plus Permissions-Policy, and HSTS only where the client actually reached us over
 * HTTPS — HSTS on plain HTTP is ignored by browsers and wrong behind a TLS-less proxy.
 */
export const securityHeaders = fp<SecurityHeadersOptions>(
  async (app: FastifyInstance, options) => {
    await app.register(helmet, {
      global: true,
      contentSecurityPolicy: { useDefaults: false, directives: parseCsp(options.contentSecurityPolicy) },
      hsts: false,
      crossOriginOpenerPolicy: { policy: 'same-origin' },
      crossOriginResourcePolicy: { policy: 'same-origin' },
      crossOriginEmbedderPolicy: false,
      frameguard: { action: 'deny' },
      referrerPolicy: { policy: 'no-referrer' },
      xPoweredBy: true,
    });
    const permissionsPolicy = options.permissionsPolicy ?? DEFAULT_PERMISSIONS_POLICY;
    const hsts = options.hstsMaxAge > 0 ? `max-age=${options.hstsMaxAge}; includeSubDomains` : undefined;
    app.addHook('onRequest', async (request, reply) => {
      reply.header('permissions-policy', permissionsPolicy);
      if (hsts !== undefined && request.protocol === 'https') reply.header('strict-transport-security', hsts);
    });
  },
  { name: 'warden-security-headers', fastify: '5.x' },
);
