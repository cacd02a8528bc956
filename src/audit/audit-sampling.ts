import { clientAddressKey } from '../ratelimit/client-key.js';
import type { AuditEventInput } from './audit-event.js';

/** Where a sampled event is counted: the rate-limit-block sampler or the refused-credential one. */
export interface SamplingRule {
  readonly sampler: 'block' | 'failure';
  /** Events with the same key share one "at most one per window". */
  readonly key: string;
}

/**
 * `client.auth.failed` reasons that say nothing about a real client: no client has the id, or
 * the address is locked out already (the lockout's first refusal, and the failures that led to
 * it, are recorded). A known client failing (bad secret, revoked, expired, owner inactive) is
 * recorded every time; the OAuth throttle bounds those per address.
 */
const ANONYMOUS_CLIENT_FAILURES: ReadonlySet<string> = new Set(['unknown_client', 'throttled']);

/**
 * How an event is sampled, or undefined when it is recorded every time. Sampled: rate-limit
 * blocks (per actor, source address and route), and refused credentials that name nobody — an unidentified
 * API key (`apikey.verification_denied` with actor `anonymous`: malformed or unknown) and an
 * unknown or locked-out OAuth client — per source address (IPv6 by /64, as the rate limits
 * count), action and kind, so that a flood of made-up credentials cannot flood the log. A
 * refusal of an identified key (revoked, expired, disabled: a real key in use) is an incident
 * signal and is never sampled; one over its own rate limit is sampled per key.
 */
export function samplingOf(input: AuditEventInput): SamplingRule | undefined {
  switch (input.action) {
    case 'ratelimit.blocked':
      // Per actor, source address and route: every anonymous client is actor `anonymous`, so
      // keyed by actor alone one client's blocks would hide every other client's.
      return { sampler: 'block', key: `${input.actor}\u0000${clientAddressKey(input.ip)}\u0000${String(input.details?.route ?? '')}` };
    case 'apikey.verification_denied':
      if (input.actor === 'anonymous') return perAddress(input, input.details?.code);
      // A key over its own rate limit is a rate-limit block, sampled per key like those; every
      // other refusal of an identified key is recorded.
      return input.details?.code === 'rate_limited' ? { sampler: 'failure', key: `${input.action}\u0000key:${input.entity_id ?? ''}\u0000rate_limited` } : undefined;
    case 'client.auth.failed': {
      const reason = input.details?.reason;
      return typeof reason === 'string' && ANONYMOUS_CLIENT_FAILURES.has(reason) ? perAddress(input, reason) : undefined;
    }
    default:
      return undefined;
  }
}

function perAddress(input: AuditEventInput, kind: unknown): SamplingRule {
  return { sampler: 'failure', key: `${input.action}\u0000${clientAddressKey(input.ip)}\u0000${typeof kind === 'string' ? kind : ''}` };
}
