import { createRedactor, defaultRedactor, normaliseKey, REDACTED, type Redactor } from '../redact/index.js';
import type { AuditAction } from './audit-event.js';
import { stableStringify } from './canonical-form.js';

/** Details larger than this (serialised) are replaced by a marker instead of being stored. */
export const MAX_DETAILS_BYTES = 8192;

/** The default engine without the IP-address patterns; every other rule applies. */
const KEEPING_ADDRESSES: Redactor = createRedactor({ disabledPatterns: ['ipv4', 'ipv6'] });

/**
 * Actions whose details are redacted with a narrower engine than the default. `config.loaded`
 * holds the service's own settings, whose addresses (WARDEN_HOST, WARDEN_TRUST_PROXY…) are
 * configuration, not a client's personal data; every other rule (key names, credentials,
 * tokens, keys, e-mails…) still applies to it.
 */
const ACTION_REDACTORS: Partial<Record<AuditAction, Redactor>> = {
  'config.loaded': KEEPING_ADDRESSES,
};

/**
 * A User-Agent as it may be stored: credentials, keys, tokens and e-mail addresses redacted
 * like details. IP addresses are kept: a browser's version (`Chrome/120.0.0.0`) looks like one,
 * and the event's address is in its own `ip` column anyway.
 */
export function redactUserAgent(userAgent: string | undefined): string | undefined {
  return typeof userAgent === 'string' ? KEEPING_ADDRESSES.redactText(userAgent) : undefined;
}

/**
 * Redacts an event's details for storage: the shared redaction engine (sensitive key names
 * and secret-looking values), plus any key that names a key ("key", "signing_key"…), which
 * the shared list leaves alone because "key_id"-style fields are harmless elsewhere.
 * Returns canonical JSON text, or null when there are no details.
 */
export function redactDetails(details: Record<string, unknown> | undefined, action?: AuditAction): string | null {
  if (details === undefined) return null;
  const redactor = (action === undefined ? undefined : ACTION_REDACTORS[action]) ?? defaultRedactor;
  const redacted = stripKeyFields(redactor.redactValue(details));
  const text = stableStringify(redacted);
  if (Buffer.byteLength(text) > MAX_DETAILS_BYTES) return stableStringify({ truncated: true, original_bytes: Buffer.byteLength(text) });
  return text;
}

function stripKeyFields(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth > 16) return REDACTED;
  if (Array.isArray(value)) return value.map((v) => stripKeyFields(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    out[key] = normaliseKey(key).endsWith('key') ? REDACTED : stripKeyFields(inner, depth + 1);
  }
  return out;
}
