import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { WardenError } from '../errors/index.js';
import type { Principal } from './principal.js';
import { asArray } from './route-lists.js';
import './route-config.js';

/**
 * Turns a request's credential into a principal. Returns undefined when the request does not
 * carry this authenticator's kind of credential; throws a WardenError (401) when it does
 * but the credential is invalid. Authenticators are tried in order.
 */
export type Authenticator = (request: FastifyRequest) => Promise<Principal | undefined>;

/** Decides whether a principal holds a permission (optionally within a scope). Errors deny. */
export type Authorizer = (principal: Principal, permission: string, scope?: string) => Promise<boolean>;

export interface AuthGuardOptions {
  readonly authenticators: readonly Authenticator[];
  readonly authorize: Authorizer;
}

/**
 * The guard every route passes (a route-level onRequest hook, so after the global request
 * guards and per-IP limits, before body parsing): routes marked `config.public` skip it; every other route
 * must declare `config.permission` (a route without one is refused with 500 at start-up, so
 * nothing is left unguarded by accident). Authentication failures are 401, missing
 * permissions 403; any unexpected error denies.
 */
export const authGuard = fp<AuthGuardOptions>(
  async (app: FastifyInstance, options) => {
    // One guard per route, made when the route is registered: the permission is read from
    // the route's config once, not from request.routeOptions (an object built per access).
    const guardFor = (permission: string) => async (request: FastifyRequest): Promise<void> => {
      request.principal = await authenticate(request, options.authenticators);
      if (permission === 'authenticated') return;
      let allowed = false;
      try {
        allowed = await options.authorize(request.principal, permission);
      } catch (error) {
        request.log.error({ err: error }, 'authorization check failed; denying');
        allowed = false;
      }
      if (!allowed) throw new WardenError('forbidden', `This action needs the permission ${permission}`, { fields: { permission } });
    };
    // The guard is attached to each guarded route, so public routes (health) pay nothing.
    app.addHook('onRoute', (route) => {
      const config = route.config as { public?: boolean; permission?: string; auth?: string } | undefined;
      if (config?.public === true || config?.auth !== undefined) return;
      if (config?.permission === undefined) {
        throw new Error(`route ${String(route.method)} ${route.url} declares neither config.public nor config.permission`);
      }
      // onRequest, before the body is read and validated: an unauthenticated caller learns
      // nothing about a route's schema and costs no body parsing.
      route.onRequest = [guardFor(config.permission), ...asArray(route.onRequest)];
    });
  },
  { name: 'warden-auth-guard', fastify: '5.x' },
);

/** Runs the authenticators in order; the first that recognises the credential decides. */
export async function authenticate(request: FastifyRequest, authenticators: readonly Authenticator[]): Promise<Principal> {
  for (const authenticator of authenticators) {
    const principal = await authenticator(request);
    if (principal !== undefined) return principal;
  }
  throw new WardenError('token_missing', 'Send a credential: Authorization: Bearer <token or API key> or X-API-Key', {
    headers: { 'www-authenticate': 'Bearer realm="warden"' },
  });
}

/** The bearer token of a request, if any (`Authorization: Bearer …`). */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer[ ]+([^\s]+)[ ]*$/i.exec(header);
  return match?.[1];
}
