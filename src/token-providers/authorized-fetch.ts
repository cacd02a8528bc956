import type { TokenProvider } from './token-provider.js';

export interface AuthorizedFetchOptions {
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/**
 * A `fetch` that adds `Authorization: Bearer <token>` from the provider and, when the API
 * answers 401, retries once with a fresh token (the rejected one is dropped from the cache).
 * Bodies given in `init` must be replayable (strings, buffers, URLSearchParams), not streams;
 * a `Request` is cloned for the first attempt, so its body can be sent again.
 */
export function authorizedFetch(provider: TokenProvider, options: AuthorizedFetchOptions = {}): typeof fetch {
  const fetchImpl = options.fetch ?? fetch;
  const send = (input: Parameters<typeof fetch>[0], init: RequestInit | undefined, token: string): Promise<Response> => {
    // fetch(request, init) takes init.headers wholesale, so the Request's own headers must be
    // carried over here or they are dropped; init.headers still wins per name, as in fetch.
    const headers = new Headers(typeof input === 'object' && 'headers' in input ? input.headers : undefined);
    const overrides = new Headers(init?.headers);
    for (const name of overrides.keys()) headers.delete(name);
    for (const [name, value] of overrides) headers.append(name, value);
    headers.set('authorization', `Bearer ${token}`);
    return fetchImpl(input, { ...init, headers });
  };
  return async (input, init) => {
    const token = await provider.getToken();
    // Sending a Request consumes its body: the first attempt gets a copy, the retry the original.
    const first = input instanceof Request && input.body !== null ? input.clone() : input;
    const response = await send(first, init, token);
    if (response.status !== 401) return response;
    const fresh = await provider.getToken({ rejected: token });
    // A provider that cannot rotate (a static token) gives the same token back: the 401 stands.
    if (fresh === token) return response;
    await response.body?.cancel();
    return send(input, init, fresh);
  };
}
