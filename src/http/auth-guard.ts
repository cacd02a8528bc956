import type { FastifyInstance, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import fp from 'fastify-plugin';
import { AmbiguousCredentialsError, WardenError } from '../errors/index.js';
import type { Principal } from './principal.js';
import { headerCount } from './request-guards.js';
import { asArray } from './route-lists.js';
import './route-config.js';

/**
 * Turns a request's credential into a principal. Returns undefined when the request does not
 * carry this authenticator's kind of credential; throws a WardenError (401) when it does
 * but the credential is invalid. Authenticators are tried in order. One that can answer from
 * a cache may answer synchronously: the guard then costs no promise.
 */
export type Authenticator = (request: FastifyRequest) => Principal | undefined | Promise<Principal | undefined>;

/**
 * Decides whether a principal holds a permission (optionally within a scope). Errors deny.
 * Answers synchronously when its cache can; callers `await` the answer either way.
 */
export type Authorizer = (principal: Principal, permission: string, scope?: string) => boolean | Promise<boolean>;

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
    const forbidden = (permission: string): WardenError =>
      new WardenError('forbidden', `This action needs the permission ${permission}`, { fields: { permission } });
    /** Checks the permission and ends the hook; an error in the check denies. */
    const admit = (request: FastifyRequest, principal: Principal, permission: string, done: HookHandlerDoneFunction): void => {
      request.principal = principal;
      if (permission === 'authenticated') {
        done();
        return;
      }
      let allowed: boolean | Promise<boolean>;
      try {
        allowed = options.authorize(principal, permission);
      } catch (error) {
        allowed = deniedByError(request, error);
      }
      if (typeof allowed === 'boolean') done(allowed ? undefined : forbidden(permission));
      else allowed.then((granted) => granted, (error: unknown) => deniedByError(request, error)).then((granted) => done(granted ? undefined : forbidden(permission)));
    };
    // One guard per route, made when the route is registered: the permission is read from
    // the route's config once, not from request.routeOptions (an object built per access).
    // A callback hook, not an async one: a request whose key and permissions are cached
    // passes without a promise or a trip through the microtask queue.
    const guardFor = (permission: string) => (request: FastifyRequest, _reply: unknown, done: HookHandlerDoneFunction): void => {
      let principal: Principal | Promise<Principal>;
      try {
        principal = authenticateNow(request, options.authenticators);
      } catch (error) {
        done(error as Error);
        return;
      }
      if (principal instanceof Promise) principal.then((p) => admit(request, p, permission, done), done);
      else admit(request, principal, permission, done);
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

/** Logs why an authorization check failed; the answer is a denial. */
function deniedByError(request: FastifyRequest, error: unknown): false {
  request.log.error({ err: error }, 'authorization check failed; denying');
  return false;
}

/** Runs the authenticators in order; the first that recognises the credential decides. */
export async function authenticate(request: FastifyRequest, authenticators: readonly Authenticator[]): Promise<Principal> {
  return authenticateNow(request, authenticators);
}

/**
 * `authenticate`, synchronous while every authenticator asked answers synchronously (a cached
 * API key); a promise from the first that does not. Throws synchronously when it can decide so.
 */
function authenticateNow(request: FastifyRequest, authenticators: readonly Authenticator[], from = 0): Principal | Promise<Principal> {
  for (let i = from; i < authenticators.length; i++) {
    const answer = (authenticators[i] as Authenticator)(request);
    // Promise.resolve also adopts a foreign thenable a library user's authenticator may return.
    if (answer !== undefined && !isPrincipal(answer)) {
      return Promise.resolve(answer).then((principal) => principal ?? authenticateNow(request, authenticators, i + 1));
    }
    if (answer !== undefined) return answer;
  }
  throw new WardenError('token_missing', 'Send a credential: Authorization: Bearer <token or API key> or X-API-Key', {
    headers: { 'www-authenticate': 'Bearer realm="warden"' },
  });
}

/** A principal, as opposed to a promise (or thenable) of one. */
function isPrincipal(answer: Principal | Promise<Principal | undefined>): answer is Principal {
  return typeof (answer as { then?: unknown }).then !== 'function';
}

/**
 * The request's `X-API-Key`, refusing (400 `ambiguous_credentials`) a request that also carries
 * an `Authorization` header, whatever either holds, or that repeats `X-API-Key`: with two
 * credentials, which one acts would be the server's guess (the API key used to win silently
 * over a bearer JWT). Undefined when there is no `X-API-Key`. An ordinary request costs one
 * more header lookup; the raw headers are read only when the value holds a comma, which is how
 * Node joins a repeated header.
 */
export function singleApiKeyHeader(request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key'];
  if (header === undefined) return undefined;
  if (request.headers.authorization !== undefined) throw new AmbiguousCredentialsError('both_headers');
  if (typeof header !== 'string' || (header.includes(',') && headerCount(request.raw.rawHeaders, 'x-api-key') > 1)) {
    throw new AmbiguousCredentialsError('repeated_api_key');
  }
  return header;
}

/**
 * The request's `Authorization` header, refusing a repeated one (400 `ambiguous_credentials`):
 * Node keeps only the first copy and a proxy in front may act on the last, so which
 * credential counts would depend on who reads it. Costs a scan of the raw header names, only
 * on requests that carry the header.
 */
export function singleAuthorizationHeader(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header !== undefined && repeatsAuthorization(request)) throw new AmbiguousCredentialsError('repeated_authorization');
  return header;
}

/** True when the request carries more than one `Authorization` header. */
export function repeatsAuthorization(request: FastifyRequest): boolean {
  return headerCount(request.raw.rawHeaders, 'authorization') > 1;
}

/** The bearer token of a request, if any (`Authorization: Bearer …`); a repeated header is refused. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = singleAuthorizationHeader(request);
  if (header === undefined) return undefined;
  const match = /^Bearer[ ]+([^\s]+)[ ]*$/i.exec(header);
  return match?.[1];
}
