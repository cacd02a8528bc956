import { describeSettings, type LoadedSettings, type SettingSource } from '../config/index.js';
import type { AuditRecorder } from './audit-event.js';
import { MAX_DETAILS_BYTES } from './redact-details.js';

/** One setting as `config.loaded` stores it. */
export interface ConfigLoadedSetting {
  /** The variable name, e.g. `WARDEN_ACCESS_TOKEN_TTL`. */
  readonly name: string;
  /** As `warden config check` shows it: secrets masked, URL credentials masked. */
  readonly value: string;
  readonly source: SettingSource;
}

/**
 * The settings of a `config.loaded` event: secrets masked by the schema's secret flag (as
 * `describeSettings` masks them for `warden config check`), every other value and its source
 * kept.
 *
 * A list of `{name, value, source}` rather than an object keyed by variable name: the
 * audit redaction matches key names, and names such as `WARDEN_ACCESS_TOKEN_TTL` or
 * `WARDEN_PASSWORD_MIN_LENGTH` would lose ordinary values to it. Whether a setting is secret is
 * decided here, by the schema, before the event exists; the redaction still runs on top and
 * still masks secret-looking values (URL credentials, JWTs, PEM keys…) in any of them.
 */
export function configLoadedSettings(loaded: LoadedSettings): ConfigLoadedSetting[] {
  // describeSettings masks by the schema's secret flag; the rows are copied field by field so
  // that nothing it may add later reaches the audit log unreviewed.
  return describeSettings(loaded.settings, loaded.sources).map((row) => ({ name: row.name, value: row.value, source: row.source }));
}

// Leaves room under the audit's limit for what redaction adds (a marker is longer than an e-mail).
const DETAILS_BUDGET_BYTES = MAX_DETAILS_BYTES - 1024;
/** A longer value keeps this many characters, when the event is still over its budget without defaults. */
const SHORTENED_VALUE_CHARS = 160;

const sizeOf = (details: Record<string, unknown>): number => Buffer.byteLength(JSON.stringify(details));

/**
 * The details of `config.loaded`, kept under the audit's size limit (past it, the audit log
 * stores only a "truncated" marker, and the record of how the service ran would be lost). When
 * every setting does not fit (long CORS or proxy lists), settings left at their defaults are
 * named in `defaults` without their values (the build's own); if that is still too long, long
 * values are shortened, each saying its full length, and `shortened` names them.
 */
export function configLoadedDetails(loaded: LoadedSettings): Record<string, unknown> {
  const settings = configLoadedSettings(loaded);
  const base = { profile: loaded.settings.env, generated: [...loaded.generated], warnings: loaded.warnings.length };
  const whole = { ...base, settings };
  if (sizeOf(whole) <= DETAILS_BUDGET_BYTES) return whole;
  const chosen = settings.filter((s) => s.source !== 'default');
  const defaults = settings.filter((s) => s.source === 'default').map((s) => s.name);
  const withoutDefaults = { ...base, settings: chosen, defaults };
  if (sizeOf(withoutDefaults) <= DETAILS_BUDGET_BYTES) return withoutDefaults;
  const shorten = (value: string): string =>
    value.length <= SHORTENED_VALUE_CHARS ? value : `${value.slice(0, SHORTENED_VALUE_CHARS)}… (${value.length} characters)`;
  return {
    ...withoutDefaults,
    settings: chosen.map((s) => ({ ...s, value: shorten(s.value) })),
    shortened: chosen.filter((s) => s.value.length > SHORTENED_VALUE_CHARS).map((s) => s.name),
  };
}

/**
 * Records `config.loaded` at start: the effective settings (see `configLoadedDetails`), their
 * sources, the names of generated secrets and the number of warnings.
 */
export function recordConfigLoaded(audit: AuditRecorder, loaded: LoadedSettings): Promise<void> {
  return audit.record({ action: 'config.loaded', actor: 'system', entity_type: 'config', outcome: 'success', details: configLoadedDetails(loaded) });
}
