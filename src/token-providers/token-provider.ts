/** A bearer token and when it stops being valid. */
export interface IssuedToken {
  readonly value: string;
  /** Epoch milliseconds; undefined = does not expire (static tokens). */
  readonly expiresAt: number | undefined;
}

/** Options for one `getToken` call. */
export interface GetTokenOptions {
  /** Ignore the cached token (e.g. the API just answered 401 with it). */
  readonly forceRefresh?: boolean;
  /** The token an API just refused: replaced only if it is still the cached one. */
  readonly rejected?: string;
}

/** The one interface every client-side credential implements. */
export interface TokenProvider {
  getToken(options?: GetTokenOptions): Promise<string>;
}

/** Something that can obtain a fresh token: a token endpoint, a signer. */
export type TokenSource = () => Promise<IssuedToken>;
