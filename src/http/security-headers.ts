/** The baseline CSP of a JSON API, the service's `WARDEN_CSP` default. */
export const DEFAULT_CONTENT_SECURITY_POLICY = "default-src 'self'; frame-ancestors 'none'";
/** One year, the service's `WARDEN_HSTS_MAX_AGE` default. */
export const DEFAULT_HSTS_MAX_AGE = 31_536_000;

export interface SecurityHeadersOptions {
  /** Content-Security-Policy value. @default "default-src 'self'; frame-ancestors 'none'" */
  readonly contentSecurityPolicy?: string | undefined;
  /** HSTS max-age in seconds; 0 disables HSTS. Sent only on HTTPS requests. @default 31536000 */
  readonly hstsMaxAge?: number | undefined;
  /** @default "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()" */
  readonly permissionsPolicy?: string;
}

const DEFAULT_PERMISSIONS_POLICY =
  'accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()';

/**
 * The header table sent on every response. An API serves JSON, never documents to render,
 * so the strictest values cost nothing: no framing, no sniffing, no referrer, isolated
 * browsing context, same-origin resource loading, and no caching. Legacy headers that protect nothing on
 * a JSON API (X-Download-Options for IE8, X-Permitted-Cross-Domain-Policies for Flash,
 * X-DNS-Prefetch-Control, X-XSS-Protection for an auditor browsers removed) are not sent:
 * each header costs throughput on every response. Computed once at start-up (helmet
 * re-derives its CSP string per request, a measurable cost on a hot path). HSTS is added per
 * request, only over HTTPS, by the hardening hook. Fastify sends no X-Powered-By.
 */
export function securityHeaderTable(options: SecurityHeadersOptions = {}): Readonly<Record<string, string>> {
  const table: Record<string, string> = Object.create(null) as Record<string, string>;
  const csp = options.contentSecurityPolicy ?? DEFAULT_CONTENT_SECURITY_POLICY;
  table['content-security-policy'] = csp.trim().replace(/\s*;\s*/g, '; ').replace(/;\s*$/, '');
  table['cross-origin-opener-policy'] = 'same-origin';
  table['cross-origin-resource-policy'] = 'same-origin';
  table['referrer-policy'] = 'no-referrer';
  table['x-content-type-options'] = 'nosniff';
  table['x-frame-options'] = 'DENY';
  table['permissions-policy'] = options.permissionsPolicy ?? DEFAULT_PERMISSIONS_POLICY;
  // API answers carry tokens, keys and personal data: no cache may keep them unless a route
  // says otherwise (the JWKS does), as the OWASP REST cheat sheet advises.
  table['cache-control'] = 'no-store';
  return Object.freeze(table);
}
