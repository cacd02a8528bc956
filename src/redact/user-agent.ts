import { createRedactor, type Redactor } from './redactor.js';

/** The default engine without the IP-address patterns; every other rule applies. */
export const addressKeepingRedactor: Redactor = createRedactor({ disabledPatterns: ['ipv4', 'ipv6'] });

/**
 * A User-Agent as it may be stored (audit events, sessions): credentials, keys, tokens and
 * e-mail addresses redacted. IP addresses are kept: a browser's version (`Chrome/120.0.0.0`)
 * looks like one, and the client's address is stored in its own column anyway. Redact before
 * clipping: a cut could leave half a secret that no pattern knows.
 */
export function redactUserAgent(userAgent: string | undefined): string | undefined {
  return typeof userAgent === 'string' ? addressKeepingRedactor.redactText(userAgent) : undefined;
}
