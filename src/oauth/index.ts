export { createOAuthServer, oauthOf, type OAuthServer } from './oauth-domain.js';
export { OAuthClientService, type OAuthClient, type ClientAuthentication, type ClientAuthFailure } from './oauth-client-service.js';
export { ClientSecretHasher, CLIENT_SECRET_PREFIX } from './client-secret.js';
export { ClientTokenIssuer } from './client-token-issuer.js';
export { oauthRoutes } from './oauth-routes.js';
export { clientRoutes } from './client-routes.js';
export { clientView, type OAuthClientView } from './client-view.js';
export { OAuthError, type OAuthErrorCode } from './oauth-error.js';
