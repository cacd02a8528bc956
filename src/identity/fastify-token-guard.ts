import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { anyCovers } from '../authz/permission-match.js';
import { ERROR_CODES } from '../errors/index.js';
import type { RemoteTokenVerifier } from './remote-token-verifier.js';
import type { AccessTokenClaims } from './token-checks.js';

/** What the guard puts on the request. */
export interface TokenUser {
  readonly id: string;
  /** The scope claim, or ['*:*'] for an admin token without scope, else []. */
  readonly permissions: readonly string[];
  readonly claims: AccessTokenClaims;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `authenticate` from @warden's token guard. */
    tokenUser?: TokenUser;
  }
  interface FastifyInstance {
    /** preHandler: 401 problem+json unless the request carries a valid Warden access token. */
    authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
    /** preHandler factory: authenticates, then 403 unless the token grants the permission. */
    requirePermission: (permission: string) => (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
}

function deny(reply: FastifyReply, code: keyof typeof ERROR_CODES, extra: Record<string, string> = {}): FastifyReply {
  const { status, title } = ERROR_CODES[code];
  for (const [name, value] of Object.entries(extra)) reply.header(name, value);
  return reply.code(status).type('application/problem+json').send({ type: 'about:blank', title, status, code });
}

/**
 * A Fastify plugin for other services: `app.authenticate` and `app.requirePermission(p)`
 * as preHandlers over a (remote) token verifier. Thin by design: every decision is the verifier's.
 */
export const wardenTokenGuard = fp<{ verifier: RemoteTokenVerifier }>(
  async (app: FastifyInstance, options) => {
    const authenticate = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
      const match = /^Bearer[ ]+([^\s]+)[ ]*$/i.exec(request.headers.authorization ?? '');
      const token = match?.[1];
      if (token === undefined) {
        await deny(reply, 'token_missing', { 'www-authenticate': 'Bearer' });
        return;
      }
      const result = await options.verifier.verify(token);
      if (!result.valid) {
        await deny(reply, result.code, { 'www-authenticate': 'Bearer error="invalid_token"' });
        return;
      }
      const claims = result.claims;
      request.tokenUser = { id: claims.sub, permissions: claims.scope ?? (claims.roles.includes('admin') ? ['*:*'] : []), claims };
    };
    app.decorateRequest('tokenUser', undefined);
    app.decorate('authenticate', authenticate);
    app.decorate('requirePermission', (permission: string) => async (request: FastifyRequest, reply: FastifyReply) => {
      await authenticate(request, reply);
      if (reply.sent) return;
      if (!anyCovers(request.tokenUser?.permissions ?? [], permission)) await deny(reply, 'forbidden');
    });
  },
  { name: 'warden-token-guard', fastify: '5.x' },
);
