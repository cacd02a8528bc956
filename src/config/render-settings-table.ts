import { SETTING_DEFINITIONS, PROFILES, type SettingDefinition } from './setting-definitions.js';

function shown(value: unknown): string {
  if (value === undefined) return '(unset)';
  if (Array.isArray(value)) return value.length === 0 ? '(empty)' : value.join(',');
  return String(value);
}

/** The Markdown table of every setting, for docs/configuration.md (kept in step by a test). */
export function renderSettingsTable(): string {
  const rows = ['| variable | default (development / staging / production) | secret | meaning |', '|---|---|---|---|'];
  for (const definition of Object.values(SETTING_DEFINITIONS) as SettingDefinition<unknown>[]) {
    const defaults = PROFILES.map((p) => shown(definition.fallback?.(p)));
    const same = defaults.every((d) => d === defaults[0]);
    const fallback = same ? defaults[0] : defaults.join(' / ');
    const cell = (fallback ?? '').replace(/\|/g, '\\|');
    rows.push(`| \`${definition.name}\` | \`${cell}\` | ${definition.secret === true ? 'yes' : ''} | ${definition.doc.replace(/\|/g, '\\|')} |`);
  }
  return rows.join('\n');
}
