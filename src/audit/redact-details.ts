import { normaliseKey, REDACTED, redactValue } from '../redact/index.js';
import { stableStringify } from './canonical-form.js';

/** Details larger than this (serialised) are replaced by a marker instead of being stored. */
export const MAX_DETAILS_BYTES = 8192;

/**
 * Redacts an event's details for storage: the shared redaction engine (sensitive key names
 * and secret-looking values), plus any key that names a key ("key", "signing_key"…), which
 * the shared list leaves alone because "key_id"-style fields are harmless elsewhere.
 * Returns canonical JSON text, or null when there are no details.
 */
export function redactDetails(details: Record<string, unknown> | undefined): string | null {
  if (details === undefined) return null;
  const redacted = stripKeyFields(redactValue(details));
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
