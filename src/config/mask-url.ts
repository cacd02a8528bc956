// No imports: the storage layer masks URLs with this too, and must not load the settings.

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
        return SECRET_QUERY_PARAMETER.test(decodeParameterName(pair.slice(0, eq)))
          ? `${pair.slice(0, eq)}=********`
          : pair;
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

/**
 * The secret parts of a URL as they may appear in a message about it: the password of
 * `user:pass@` and the values of password-like query parameters, each as written and decoded.
 */
export function secretsOfUrl(value: string): string[] {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return [];
  }
  const found = new Set<string>();
  const add = (raw: string): void => {
    if (raw === '') return;
    found.add(raw);
    try {
      // Both decodings: pg reads a `+` in the password as itself, form decoding as a space.
      found.add(decodeURIComponent(raw));
      found.add(decodeURIComponent(raw.replace(/\+/g, ' ')));
    } catch {
      // A malformed escape cannot have been decoded by a driver either: the raw form is enough.
    }
  };
  add(parsed.password);
  for (const pair of parsed.search.slice(1).split('&')) {
    const eq = pair.indexOf('=');
    if (eq !== -1 && SECRET_QUERY_PARAMETER.test(decodeParameterName(pair.slice(0, eq))))
      add(pair.slice(eq + 1));
  }
  return [...found];
}

/** `text` with every secret of `url` (see secretsOfUrl) replaced by ********, longest first. */
export function scrubUrlSecrets(text: string, url: string): string {
  let out = text;
  for (const secret of secretsOfUrl(url).sort((a, b) => b.length - a.length))
    out = out.split(secret).join('********');
  return out;
}
