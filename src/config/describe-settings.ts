import { SETTING_DEFINITIONS, type SettingKey, type Settings } from './setting-definitions.js';
import type { SettingSource } from './sources.js';
import { maskUrlCredentials } from './mask-url.js';

export { maskUrlCredentials, scrubUrlSecrets, secretsOfUrl } from './mask-url.js';

/** Masks a secret for display: never reveals more than that it is set and its length class. */
export function maskSecret(value: string | undefined): string {
  if (value === undefined) return '(unset)';
  return `******** (set, ${value.length >= 32 ? '32+' : value.length} chars)`;
}

/** The effective settings as printable rows, secrets masked. */
export function describeSettings(
  settings: Settings,
  sources: Readonly<Record<SettingKey, SettingSource>>,
): { name: string; value: string; source: SettingSource }[] {
  return (Object.entries(SETTING_DEFINITIONS) as [SettingKey, (typeof SETTING_DEFINITIONS)[SettingKey]][]).map(
    ([key, definition]) => {
      const value = settings[key];
      let shown: string;
      if ('secret' in definition && definition.secret === true) shown = maskSecret(value as string | undefined);
      else if (value === undefined) shown = '(unset)';
      else if (Array.isArray(value)) shown = value.length === 0 ? '(none)' : value.join(',');
      else if (typeof value === 'string') shown = maskUrlCredentials(value);
      else shown = String(value);
      return { name: definition.name, value: shown, source: sources[key] };
    },
  );
}
