import { SETTING_DEFINITIONS, type SettingKey, type Settings } from './setting-definitions.js';
import type { SettingSource } from './sources.js';

/** Masks a secret for display: never reveals more than that it is set and its length class. */
export function maskSecret(value: string | undefined): string {
  if (value === undefined) return '(unset)';
  return `******** (set, ${value.length >= 32 ? '32+' : value.length} chars)`;
}

/**
 * Query parameters whose values are masked in printed URLs: any name containing pass, pwd,
 * secret, token or key (case-insensitive), since pg (`password`, `sslpassword`) and ioredis
 * (`password`) read credentials from the query string too. Deliberately broad: `sslkey`
 * (a file path) and ioredis' `keyPrefix` are masked as well, a small loss next to a leak.
 */
const SECRET_QUERY_PARAMETER = /pass|pwd|secret|token|key/i;

/**
 * Masks the credentials in a URL for display: the password of `user:pass@` and the values of
 * password-like query parameters (SECRET_QUERY_PARAMETER); everything else stays as written.
 */
export function maskUrlCredentials(value: string): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return value;
  }
  if (parsed.password !== '') parsed.password = '********';
  // Rewritten by hand, not through searchParams: re-serialising would re-encode every other
  // parameter (e.g. pg's `options=-c%20search_path%3D…`), making the URL harder to recognise.
  if (parsed.search.length > 1) {
    const masked = parsed.search
      .slice(1)
      .split('&')
      .map((pair) => {
        const eq = pair.indexOf('=');
        if (eq === -1) return pair;
        return SECRET_QUERY_PARAMETER.test(decodeParameterName(pair.slice(0, eq))) ? `${pair.slice(0, eq)}=********` : pair;
      });
    parsed.search = `?${masked.join('&')}`;
  }
  return parsed.toString();
}

function decodeParameterName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    // A malformed escape: match on the raw name, which still contains any plain "pass" etc.
    return raw;
  }
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
