import { describeSettings, type LoadedSettings } from '../config/index.js';
import type { AuditRecorder } from './audit-event.js';

/**
 * Records `config.loaded` at start: the effective settings as `describeSettings` prints them
 * (secrets masked; the details redaction runs on top), their sources, and generated secret names.
 */
export function recordConfigLoaded(audit: AuditRecorder, loaded: LoadedSettings): Promise<void> {
  const rows = describeSettings(loaded.settings, loaded.sources);
  return audit.record({
    action: 'config.loaded',
    actor: 'system',
    entity_type: 'config',
    outcome: 'success',
    details: {
      profile: loaded.settings.env,
      settings: Object.fromEntries(rows.map((row) => [row.name, { value: row.value, source: row.source }])),
      generated: [...loaded.generated],
      warnings: loaded.warnings.length,
    },
  });
}
