import type { RateLimitDecision } from './rate-limiter.js';

/** A policy as advertised in `RateLimit-Policy`. */
export interface AdvertisedPolicy {
  /** The policy item name, e.g. `default-60s`. */
  readonly name: string;
  readonly limit: number;
  readonly windowMs: number;
}

/**
 * The `RateLimit-Policy` value (draft-ietf-httpapi-ratelimit-headers-08 and later: a
 * Structured Fields list of quota policies), e.g. `"default-60s";q=100;w=60`.
 */
export function rateLimitPolicyHeader(policies: readonly AdvertisedPolicy[]): string {
  return policies.map((p) => `${sfString(p.name)};q=${p.limit};w=${Math.max(1, Math.ceil(p.windowMs / 1000))}`).join(', ');
}

/**
 * The `RateLimit` value: per policy the remaining quota `r` and the seconds `t` until it is
 * available again, e.g. `"default-60s";r=42;t=17`.
 */
export function rateLimitHeader(policies: readonly AdvertisedPolicy[], decisions: readonly RateLimitDecision[]): string {
  // Built on every limited request: a plain loop, and each name quoted once per policy object.
  let header = '';
  for (let i = 0; i < policies.length; i++) {
    const p = policies[i] as AdvertisedPolicy;
    const d = decisions[i];
    if (d === undefined) continue;
    const waitMs = d.allowed ? d.reset_ms : Math.max(d.reset_ms, d.retry_after_ms);
    header += `${header === '' ? '' : ', '}${quotedName(p)};r=${d.remaining};t=${Math.ceil(waitMs / 1000)}`;
  }
  return header;
}

const QUOTED = new WeakMap<AdvertisedPolicy, string>();

function quotedName(policy: AdvertisedPolicy): string {
  let quoted = QUOTED.get(policy);
  if (quoted === undefined) QUOTED.set(policy, (quoted = sfString(policy.name)));
  return quoted;
}

/** Seconds for `Retry-After` (at least 1, so clients never retry immediately). */
export function retryAfterSeconds(retryAfterMs: number): number {
  return Math.max(1, Math.ceil(retryAfterMs / 1000));
}

function sfString(value: string): string {
  // Structured Fields strings: printable ASCII, with \ and " escaped.
  return `"${value.replace(/[^\x20-\x7e]/g, '?').replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
