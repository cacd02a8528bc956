import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { repeatsAuthorization } from '../http/auth-guard.js';
import { anyCovers, isPermission } from '../authz/permission-match.js';
import { ERROR_CODES } from '../errors/index.js';
import type { RemotePermissionCheck } from './remote-permission-check.js';
import type { RemoteTokenVerifier } from './remote-token-verifier.js';
import type { AccessTokenClaims } from './token-checks.js';

/** What the guard puts on the request. */
export interface TokenUser {
  readonly id: string;
  /**
   * What the token itself carries: the scope claim, or ['*:*'] for an admin token without
   * scope, else [] — so [] for every other login token, whatever roles the user holds. Roles
   * are known to Warden only: see the guard's `permissionCheck` option.
   */
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
    /**
     * preHandler factory: authenticates, then 403 unless the permission is held: by the token's
     * own permissions, or — with the guard's `permissionCheck` — for user tokens, by Warden.
     */
    requirePermission: (
      permission: string,
    ) => (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  }
}

function deny(
  reply: FastifyReply,
  code: keyof typeof ERROR_CODES,
  extra: Record<string, string> = {},
  detail?: string,
): FastifyReply {
  const { status, title } = ERROR_CODES[code];
  for (const [name, value] of Object.entries(extra)) reply.header(name, value);
  return reply
    .code(status)
    .type('application/problem+json')
    .send({ type: 'about:blank', title, status, ...(detail === undefined ? {} : { detail }), code });
}

/** Options of `wardenTokenGuard`. */
export interface WardenTokenGuardOptions {
  readonly verifier: RemoteTokenVerifier;
  /**
   * Asks Warden for user tokens (`createRemotePermissionCheck`): a login token carries no
   * permissions, so without this `requirePermission` passes only admins and tokens with a
   * covering `scope`. With it, a user token passes when Warden says the user holds the
   * permission now (and, for a token restricted by `scope`, the scope covers it too); when
   * Warden gives no answer the request is refused with 503 (fail closed). Client-credentials
   * tokens are still decided by their scope alone.
   */
  readonly permissionCheck?: RemotePermissionCheck;
}

/**
 * A Fastify plugin for other services: `app.authenticate` and `app.requirePermission(p)`
 * as preHandlers over a (remote) token verifier and, optionally, Warden's permission check.
 * Thin by design: every decision is the verifier's or Warden's.
 */
export const wardenTokenGuard = fp<WardenTokenGuardOptions>(
  async (app: FastifyInstance, options) => {
    const authenticate = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
      // Node keeps the first of two Authorization headers, a proxy in front may act on the last.
      if (request.headers.authorization !== undefined && repeatsAuthorization(request)) {
        await deny(reply, 'ambiguous_credentials');
        return;
      }
      const match = /^Bearer[ ]+([^\s]+)[ ]*$/i.exec(request.headers.authorization ?? '');
      const token = match?.[1];
      if (token === undefined) {
        // Say what was wrong with what was sent: "no credential" misleads a caller sending Basic.
        const sent = request.headers.authorization;
        const detail =
          sent === undefined
            ? 'Send Authorization: Bearer <access token>'
            : 'The Authorization header is not a Bearer access token; send Authorization: Bearer <access token>';
        await deny(reply, 'token_missing', { 'www-authenticate': 'Bearer' }, detail);
        return;
      }
      let result: Awaited<ReturnType<RemoteTokenVerifier['verify']>>;
      try {
        result = await options.verifier.verify(token);
      } catch (error) {
        // No verdict (the JWKS or the isRevoked hook failed): refused as an outage, not as a bad
        // token, and never with the error's own message, which the client has no business seeing.
        request.log.warn(
          { err: { name: (error as Error).name, message: (error as Error).message } },
          'warden token verification failed; request refused',
        );
        await deny(reply, 'service_unavailable', { 'retry-after': '1' });
        return;
      }
      if (!result.valid) {
        await deny(reply, result.code, { 'www-authenticate': 'Bearer error="invalid_token"' });
        return;
      }
      const claims = result.claims;
      request.tokenUser = {
        id: claims.sub,
        permissions: claims.scope ?? (claims.roles.includes('admin') ? ['*:*'] : []),
        claims,
      };
    };
    app.decorateRequest('tokenUser', undefined);
    app.decorate('authenticate', authenticate);
    const check = options.permissionCheck;
    app.decorate('requirePermission', (permission: string) => {
      // As Warden's own requirePermission: a typo is an error where the route is defined, not a
      // check that no token can ever pass.
      if (!isPermission(permission))
        throw new TypeError(`requirePermission: "${permission}" is not a resource:action permission`);
      return async (request: FastifyRequest, reply: FastifyReply) => {
        await authenticate(request, reply);
        if (reply.sent) return;
        const user = request.tokenUser;
        if (user === undefined) {
          await deny(reply, 'forbidden');
          return;
        }
        // A client token holds exactly its scope (capped by its owner when issued); its subject is
        // no user Warden could look up. Without a check, the token is all this service knows.
        if (check === undefined || user.claims.clientId !== undefined) {
          if (!anyCovers(user.permissions, permission)) await deny(reply, 'forbidden');
          return;
        }
        // A restricted user token may do at most its scope; within that, the user's roles decide.
        if (user.claims.scope !== undefined && !anyCovers(user.claims.scope, permission)) {
          await deny(reply, 'forbidden');
          return;
        }
        let allowed: boolean;
        try {
          allowed = await check.check(user.id, permission);
        } catch (error) {
          request.log.warn({ err: error, permission }, 'warden permission check failed; request refused');
          await deny(reply, 'service_unavailable', { 'retry-after': '1' });
          return;
        }
        if (!allowed) await deny(reply, 'forbidden');
      };
    });
  },
  { name: 'warden-token-guard', fastify: '5.x' },
);
