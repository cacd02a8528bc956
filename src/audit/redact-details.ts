import { addressKeepingRedactor, defaultRedactor, normaliseKey, REDACTED, type Redactor } from '../redact/index.js';
import type { AuditAction } from './audit-event.js';
import { stableStringify } from './canonical-form.js';

/** Details larger than this (serialised) are replaced by a marker instead of being stored. */
export const MAX_DETAILS_BYTES = 8192;

/**
 * Actions whose details are redacted with a narrower engine than the default. `config.loaded`
 * holds the service's own settings, whose addresses (WARDEN_HOST, WARDEN_TRUST_PROXY…) are
 * configuration, not a client's personal data; every other rule (key names, credentials,
 * tokens, keys, e-mails…) still applies to it.
 */
const ACTION_REDACTORS: Partial<Record<AuditAction, Redactor>> = {
  'config.loaded': addressKeepingRedactor,
};

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
