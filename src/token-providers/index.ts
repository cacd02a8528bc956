export type { TokenProvider, TokenSource, IssuedToken, GetTokenOptions } from './token-provider.js';
export { staticToken } from './static-token.js';
export { selfSignedJwt, verifySelfSignedJwt, type SelfSignedJwtOptions, type VerifySelfSignedJwtOptions } from './self-signed-jwt.js';
export { clientCredentials, type ClientCredentialsOptions } from './client-credentials.js';
export { RotatingToken, type RotatingTokenOptions, type RotatingTokenEvents } from './rotating-token.js';
export { authorizedFetch, type AuthorizedFetchOptions } from './authorized-fetch.js';
export { TokenEndpointError } from './token-endpoint-error.js';
