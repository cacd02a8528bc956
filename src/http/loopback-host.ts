import { isIPv4 } from 'node:net';

/**
 * Whether a URL's `hostname` names this machine (`localhost`, 127.0.0.0/8, `[::1]`): the only
 * hosts to which a credential or a key set may travel over plain http.
 */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || (isIPv4(hostname) && hostname.startsWith('127.'));
}

/**
 * True when `url` is plain http, judged on the parsed URL so that `HTTP://` counts too; with
 * `exceptLoopback`, not when it names this machine. False for text that is not a URL (its
 * setting's parser refuses that).
 */
export function usesPlainHttp(url: string | undefined, options: { exceptLoopback?: boolean } = {}): boolean {
  if (url === undefined) return false;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  return parsed.protocol === 'http:' && !(options.exceptLoopback === true && isLoopbackHost(parsed.hostname));
}
