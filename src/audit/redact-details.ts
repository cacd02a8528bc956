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
  const bytes = Buffer.byteLength(text);
  return bytes > MAX_DETAILS_BYTES ? reducedDetails(redacted, bytes) : text;
}

/** Fields that say what was granted or refused: kept whole when the rest of the details must go. */
const GRANT_FIELDS: readonly string[] = ['permissions', 'scopes', 'missing', 'inherits'];

/**
 * The bound for details reduced to their grant fields and short values. The API's schemas
 * bound a permission list (100 of at most 127 characters, ~13 KB), so a real grant always fits.
 */
const MAX_REDUCED_DETAILS_BYTES = 32_768;

/**
 * Oversized details without their bulk. Grant lists are what the log exists to show: padding
 * a role or key with long dummy permissions must not hide the `*:*` that came with them. Short
 * scalar fields (reason, owner_id…) stay too; everything else goes.
 */
function reducedDetails(details: unknown, originalBytes: number): string {
  const marker = { truncated: true, original_bytes: originalBytes };
  if (typeof details !== 'object' || details === null || Array.isArray(details)) return stableStringify(marker);
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(details)) {
    const scalar = typeof value === 'number' || typeof value === 'boolean' || (typeof value === 'string' && value.length <= 256);
    if (GRANT_FIELDS.includes(key) || scalar) kept[key] = value;
  }
  let reduced = stableStringify({ ...kept, ...marker });
  if (Buffer.byteLength(reduced) <= MAX_REDUCED_DETAILS_BYTES) return reduced;
  // Still too big (a role inheriting many padded roles lists every grant it gains): keep each
  // list's wildcards, which are what widen access, and as many other entries as fit, saying how
  // many went. Never only the marker while a wildcard was granted.
  const lists = GRANT_FIELDS.filter((field) => Array.isArray(kept[field]));
  for (const field of lists) {
    const entries = (kept[field] as unknown[]).map(String);
    kept[field] = [...entries.filter((entry) => entry.includes('*')), ...entries.filter((entry) => !entry.includes('*'))];
  }
  for (;;) {
    const field = lists
      .map((name) => ({ name, droppable: (kept[name] as string[]).filter((entry) => !entry.includes('*')).length }))
      .filter((list) => list.droppable > 0)
      .sort((a, b) => b.droppable - a.droppable)[0];
    if (field === undefined) break;
    const entries = kept[field.name] as string[];
    const drop = Math.max(1, Math.ceil(field.droppable / 4));
    kept[field.name] = entries.slice(0, entries.length - drop);
    kept[`${field.name}_dropped`] = (typeof kept[`${field.name}_dropped`] === 'number' ? (kept[`${field.name}_dropped`] as number) : 0) + drop;
    reduced = stableStringify({ ...kept, ...marker });
    if (Buffer.byteLength(reduced) <= MAX_REDUCED_DETAILS_BYTES) return reduced;
  }
  return Buffer.byteLength(reduced) <= MAX_REDUCED_DETAILS_BYTES ? reduced : stableStringify(marker);
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
