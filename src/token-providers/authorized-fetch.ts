import type { TokenProvider } from './token-provider.js';

export interface AuthorizedFetchOptions {
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/**
 * A `fetch` that adds `Authorization: Bearer <token>` from the provider and, when the API
 * answers 401, retries once with a fresh token (the rejected one is dropped from the cache).
 * Request bodies must be replayable (strings, buffers, URLSearchParams), not streams.
 */
export function authorizedFetch(provider: TokenProvider, options: AuthorizedFetchOptions = {}): typeof fetch {
  const fetchImpl = options.fetch ?? fetch;
  const send = (input: Parameters<typeof fetch>[0], init: RequestInit | undefined, token: string): Promise<Response> => {
    const headers = new Headers(init?.headers);
    headers.set('authorization', `Bearer ${token}`);
    return fetchImpl(input, { ...init, headers });
  };
  return async (input, init) => {
    const token = await provider.getToken();
    const response = await send(input, init, token);
    if (response.status !== 401) return response;
    const fresh = await provider.getToken({ rejected: token });
    // A provider that cannot rotate (a static token) gives the same token back: the 401 stands.
    if (fresh === token) return response;
    await response.body?.cancel();
    return send(input, init, fresh);
  };
}
