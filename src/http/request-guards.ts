import { boundedMemo } from '../cache/bounded-memo.js';

const HOST_VERDICTS_KEPT = 1024;

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

/** True when a raw request path carries traversal segments, NUL or control characters. */
export function isHostilePath(rawUrl: string): boolean {
  const q = rawUrl.indexOf('?');
  return BAD_PATH.test(q === -1 ? rawUrl : rawUrl.slice(0, q));
}
