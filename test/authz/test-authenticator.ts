import type { FastifyRequest } from 'fastify';
import type { Authenticator } from '../../src/http/auth-guard.js';

/**
 * TEST ONLY: trusts `x-test-user` (and optional comma-separated `x-test-token-permissions`,
 * a restricted token's scope) so HTTP tests need no login. Never used by production code.
 */
export const testUserAuthenticator: Authenticator = async (request: FastifyRequest) => {
  const subject = request.headers['x-test-user'];
  if (typeof subject !== 'string') return undefined;
  const restriction = request.headers['x-test-token-permissions'];
  const permissions = typeof restriction === 'string' && restriction !== '' ? restriction.split(',') : [];
  return { kind: 'user', subject, permissions, credentialId: `test-${subject}` };
};
