import type { TokenProvider } from './token-provider.js';

/** A provider for a token that never changes (a long-lived API key, a test token). */
export function staticToken(value: string): TokenProvider {
  if (value === '') throw new TypeError('staticToken needs a non-empty token');
  return { getToken: async () => value };
}
