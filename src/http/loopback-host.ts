import { isIPv4 } from 'node:net';

/**
 * Whether a URL's `hostname` names this machine (`localhost`, 127.0.0.0/8, `[::1]`): the only
 * hosts to which a credential or a key set may travel over plain http.
 */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || (isIPv4(hostname) && hostname.startsWith('127.'));
}
