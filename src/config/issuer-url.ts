/**
 * Whether WARDEN_JWT_ISSUER is a URL, as RFC 8414 wants an authorization server's issuer to be:
 * the OAuth metadata then publishes it (and builds its endpoints on it), and `warden config
 * check` stays quiet. A scheme is case-insensitive (RFC 3986 §3.1), so `HTTPS://…` is one too.
 */
export function issuerIsUrl(issuer: string): boolean {
  return /^https?:\/\//i.test(issuer);
}
