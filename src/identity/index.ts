// The identity domain's public surface (library use). Internals stay unexported.
export { createRemoteTokenVerifier, type RemoteTokenVerifier, type RemoteTokenVerifierOptions } from './remote-token-verifier.js';
export { wardenTokenGuard, type TokenUser, type WardenTokenGuardOptions } from './fastify-token-guard.js';
export {
  createRemotePermissionCheck,
  RemotePermissionCheckError,
  type RemotePermissionCheck,
  type RemotePermissionCheckOptions,
} from './remote-permission-check.js';
export { KeySourceUnavailableError, type AccessTokenClaims, type TokenRejection, type TokenVerification } from './token-checks.js';
export { checkPassword, isCommonPassword, type PasswordPolicyOptions, type PasswordProblem } from './password-policy.js';
export { createIdentityService, identityOf, type IdentityService } from './identity-service.js';
export { JWT_ALGORITHMS, type JwtAlgorithm } from './signing-key-ring.js';
