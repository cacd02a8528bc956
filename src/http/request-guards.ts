import { boundedMemo } from '../cache/bounded-memo.js';

const HOST_VERDICTS_KEPT = 1024;

// host[:port] as it may stand in a URL's authority: a name or IPv4 address, or a bracketed IPv6
// literal. "/", "@", "\", "?", "#" or spaces would move `https://${host}/…` to another host, and
// a wildcard entry alone would admit "evil.net/.example.com" (it ends in ".example.com").
const PLAIN_HOST = /^(?:[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/** Whether `host` is a plain host[:port] (a name, IPv4 address or bracketed IPv6 literal). */
export function isPlainHost(host: string): boolean {
  return PLAIN_HOST.test(host);
}

/**
 * Why an entry of WARDEN_TRUSTED_HOSTS could never match a Host header, or undefined when it
 * can: `host`, `host:port` or `*.domain` (a wildcard matches any port, so it takes none).
 */
export function trustedHostEntryProblem(entry: string): string | undefined {
  if (entry.startsWith('*.')) {
    const domain = entry.slice(2);
    return isPlainHost(domain) && !/:\d+$/.test(domain) ? undefined : `"${entry}" is not *.domain (a wildcard takes no port)`;
  }
  return isPlainHost(entry) ? undefined : `"${entry}" is not a host, host:port or *.domain (no scheme, path or lone *)`;
}

/** Builds a matcher for trusted Host headers; entries without a port match any port. */
export function hostMatcher(trusted: readonly string[]): (host: string) => boolean {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const entry of trusted.map((h) => h.toLowerCase())) {
    if (entry.startsWith('*.')) suffixes.push(entry.slice(1));
    else exact.add(entry);
  }
  const decide = (host: string): boolean => {
    const value = host.toLowerCase();
    const withoutPort = value.replace(/:\d+$/, '');
    if (exact.has(value) || exact.has(withoutPort)) return true;
    return suffixes.some((suffix) => withoutPort.endsWith(suffix) && withoutPort.length > suffix.length);
  };
  // Nearly every request repeats one of a handful of Host values.
  return boundedMemo(decide, HOST_VERDICTS_KEPT);
}

// `..` as a path segment (also percent-encoded, also with backslashes), NUL bytes and
// control characters: no route needs them and they are the raw material of traversal.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const BAD_PATH = /(?:^|[/\\])(?:\.|%2e){2}(?:[/\\]|%2f|%5c|$)|%00|\0|[\x01-\x1f\x7f]|%[01][0-9a-f]|%7f/i;
// `..` behind an encoded delimiter (`/a%2f..%2fb` is `/a/../b` to anything that decodes before
// it resolves). A regex of its own, tried only on paths holding a '%': folded into BAD_PATH,
// the extra alternatives slow that scan down for every path, plain ones included.
const ENCODED_DELIMITER_TRAVERSAL = /(?:%2f|%5c)(?:\.|%2e){2}(?:[/\\]|%2f|%5c|$)/i;

/**
 * A percent-encoded NUL or control character (`%00`–`%1f`, `%7f`) in the query string starting
 * at `from`. PostgreSQL refuses NUL in text (SQLSTATE 22021) and no parameter of Warden's has a
 * use for the others. Raw control bytes never get this far: Node's HTTP parser refuses them in
 * a request target (the client-error handler answers).
 */
function hasEncodedControl(url: string, from: number): boolean {
  for (let i = url.indexOf('%', from); i !== -1; i = url.indexOf('%', i + 1)) {
    const next = url.charCodeAt(i + 1);
    // '0' or '1' (%00–%1f, and a malformed %0g that no decoder accepts either), or '7' + 'f'/'F'.
    if (next === 48 || next === 49 || (next === 55 && (url.charCodeAt(i + 2) | 0x20) === 102)) return true;
  }
  return false;
}

/** True when a raw request path carries traversal segments, NUL or control characters. */
export function isHostilePath(rawUrl: string): boolean {
  const q = rawUrl.indexOf('?');
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  return BAD_PATH.test(path) || (path.includes('%') && ENCODED_DELIMITER_TRAVERSAL.test(path));
}

/**
 * Which part of a raw request URL a request must be refused for: the path (`isHostilePath`),
 * the query string (an encoded NUL or control character), or neither (undefined). Beyond what
 * the path check always cost, a URL with nothing percent-encoded costs one `indexOf`.
 */
export function hostileUrlPart(rawUrl: string): 'path' | 'query' | undefined {
  const q = rawUrl.indexOf('?');
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  if (BAD_PATH.test(path)) return 'path';
  const percent = rawUrl.indexOf('%');
  if (percent === -1) return undefined;
  if ((q === -1 || percent < q) && ENCODED_DELIMITER_TRAVERSAL.test(path)) return 'path';
  return q !== -1 && hasEncodedControl(rawUrl, q > percent ? q : percent) ? 'query' : undefined;
}

/** How often a header (lower-case name) occurs in Node's raw header list (name, value, name, …). */
export function headerCount(rawHeaders: readonly string[], name: string): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const raw = rawHeaders[i] as string;
    if (raw.length === name.length && raw.toLowerCase() === name) count += 1;
  }
  return count;
}

/**
 * Whether an absolute-form request target (`GET http://host/path`) names the same authority as
 * the Host header. RFC 9112 §3.2.2 makes the target's authority the one that counts, and
 * §3.2 has clients send it as Host too; when they differ, a proxy or cache may act on the
 * other one than the one checked here.
 */
export function targetMatchesHost(target: string, hostHeader: string): boolean {
  try {
    const named = new URL(target);
    if (named.protocol !== 'http:' && named.protocol !== 'https:') return false;
    return named.host === new URL(`${named.protocol}//${hostHeader}`).host;
  } catch {
    return false;
  }
}
