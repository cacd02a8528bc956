import { describeSettings, type LoadedSettings, type SettingSource } from '../config/index.js';
import type { AuditRecorder } from './audit-event.js';

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

/**
 * Records `config.loaded` at start: the effective settings (see `configLoadedSettings`), their
 * sources, the names of generated secrets and the number of warnings.
 */
export function recordConfigLoaded(audit: AuditRecorder, loaded: LoadedSettings): Promise<void> {
  return audit.record({
    action: 'config.loaded',
    actor: 'system',
    entity_type: 'config',
    outcome: 'success',
    details: {
      profile: loaded.settings.env,
      settings: configLoadedSettings(loaded),
      generated: [...loaded.generated],
      warnings: loaded.warnings.length,
    },
  });
}
