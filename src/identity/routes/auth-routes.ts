import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { NotFoundError, WardenError } from '../../errors/index.js';
import type { AppContext } from '../../server/app-context.js';
import type { IdentityService } from '../identity-service.js';
import { requestFacts, userClaims } from './request-facts.js';

const LoginBody = Type.Object(
  { email: Type.String({ minLength: 1, maxLength: 320 }), password: Type.String({ minLength: 1, maxLength: 4096 }) },
  { additionalProperties: false },
);
const RefreshBody = Type.Object({ refresh_token: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false });
const LogoutBody = Type.Object({ refresh_token: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })) }, { additionalProperties: false });
const PasswordBody = Type.Object(
  { current_password: Type.String({ minLength: 1, maxLength: 4096 }), new_password: Type.String({ minLength: 1, maxLength: 4096 }) },
  { additionalProperties: false },
);
const SessionParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });

const iso = (ms: number): string => new Date(ms).toISOString();

/** The 429 of a locked account, shared by login and password change so that both answer alike. */
const accountLocked = (retryAfterMs: number): WardenError =>
  new WardenError('account_locked', 'Too many failed logins; try again later', { headers: { 'retry-after': String(Math.ceil(retryAfterMs / 1000)) } });

/** /v1/auth: login, refresh, logout, logout-all, me, sessions. */
export async function authRoutes(app: FastifyInstance, context: AppContext, identity: IdentityService): Promise<void> {
  app.post<{ Body: Static<typeof LoginBody> }>('/v1/auth/login', { config: { public: true }, schema: { body: LoginBody } }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const result = await identity.auth.login(request.body, requestFacts(request));
    if (result.ok) return result.tokens;
    if (result.code === 'account_locked') throw accountLocked(result.retryAfterMs);
    throw new WardenError('invalid_credentials', 'The email or password is wrong');
  });

  app.post<{ Body: Static<typeof RefreshBody> }>('/v1/auth/refresh', { config: { public: true }, schema: { body: RefreshBody } }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const result = await identity.auth.refresh(request.body.refresh_token, requestFacts(request));
    if (result.ok) return result.tokens;
    throw new WardenError(result.code);
  });

  app.post<{ Body: Static<typeof LogoutBody> }>(
    '/v1/auth/logout',
    {
      config: { permission: 'authenticated' },
      schema: { body: LogoutBody },
      // A logout without a body is normal; validate it as an empty object.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request, reply) => {
      const claims = userClaims(request, identity);
      await identity.auth.logout(
        { userId: claims.sub, jti: claims.jti, expiresAt: claims.exp, sessionId: claims.sid },
        request.body.refresh_token,
        requestFacts(request),
      );
      return reply.code(204).send();
    },
  );

  app.post('/v1/auth/logout-all', { config: { permission: 'authenticated' } }, async (request) => {
    const claims = userClaims(request, identity);
    const count = await identity.auth.logoutAll(claims.sub, requestFacts(request));
    return { sessions_revoked: count };
  });

  // Changing the password ends every session and token of the user (this one too): log in again.
  // The current-password check shares the login's brute-force counters (see AuthService).
  app.post<{ Body: Static<typeof PasswordBody> }>(
    '/v1/auth/password',
    { config: { permission: 'authenticated' }, schema: { body: PasswordBody } },
    async (request, reply) => {
      const claims = userClaims(request, identity);
      const check = await identity.auth.checkCurrentPassword(claims.sub, request.body.current_password, requestFacts(request));
      if (!check.ok) {
        if (check.code === 'account_locked') throw accountLocked(check.retryAfterMs);
        throw new WardenError('invalid_credentials', 'The current password is wrong');
      }
      try {
        await identity.userAdmin.changePassword(claims.sub, request.body.new_password, { actor: claims.sub, ...requestFacts(request) }, { replacing: check.verifiedHash });
      } catch (error) {
        // The policy names its input `password`; this body calls it `new_password`.
        if (error instanceof WardenError && error.code === 'weak_password') {
          throw new WardenError('weak_password', error.message, { fields: { ...error.fields, field: 'new_password' } });
        }
        throw error;
      }
      return reply.code(204).send();
    },
  );

  app.get('/v1/auth/me', { config: { permission: 'authenticated' } }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const claims = userClaims(request, identity);
    const user = await identity.users.findById(claims.sub);
    if (user === undefined) throw new WardenError('user_inactive');
    // Roles and role-derived permissions come from authz; without it, what the token itself grants.
    const authz = context.authz;
    const memberships = authz === undefined ? [] : await authz.memberships(user.id);
    const granted = authz === undefined ? [] : await authz.effectivePermissions(user.id);
    const roles = [...new Set([...(user.isAdmin ? ['admin'] : []), ...memberships.filter((m) => m.scope === undefined).map((m) => m.role)])];
    // A restricted token (scope claim) is limited to its scope whatever the roles say.
    const permissions = claims.scope ?? [...new Set([...(request.principal?.permissions ?? []), ...granted])];
    return {
      id: user.id,
      email: user.email,
      name: user.name,
      is_admin: user.isAdmin,
      roles,
      permissions,
      session_id: claims.sid ?? null,
      token_expires_at: iso(claims.exp * 1000),
    };
  });

  app.get('/v1/auth/sessions', { config: { permission: 'authenticated' } }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const claims = userClaims(request, identity);
    // Not paginated: listActive answers at most the 100 newest active sessions.
    const sessions = await identity.sessions.listActive(claims.sub);
    return {
      data: sessions.map((s) => ({
        id: s.id,
        created_at: iso(s.createdAt),
        last_used_at: iso(s.lastUsedAt),
        expires_at: iso(s.expiresAt),
        ip: s.ip,
        user_agent: s.userAgent,
        current: s.id === claims.sid,
      })),
    };
  });

  app.delete<{ Params: Static<typeof SessionParams> }>(
    '/v1/auth/sessions/:id',
    { config: { permission: 'authenticated' }, schema: { params: SessionParams } },
    async (request, reply) => {
      const claims = userClaims(request, identity);
      // A retry soon after (whose first attempt's marker or audit write failed) writes the marker
      // again and is recorded as a repeat; later, an ended session is not found.
      const outcome = await identity.auth.endSession(request.params.id, 'revoked', { userId: claims.sub });
      if (outcome === undefined) throw new NotFoundError('The session');
      await context.audit.record({
        action: 'auth.logout',
        actor: claims.sub,
        entity_type: 'session',
        entity_id: request.params.id,
        outcome: 'success',
        ip: request.ip,
        request_id: request.id,
        ...(outcome === 'reasserted' ? { details: { repeat: true } } : {}),
      });
      return reply.code(204).send();
    },
  );

  app.get('/.well-known/jwks.json', { config: { public: true } }, async (_request, reply) => {
    // Short cache: a rotated key must reach verifiers well before the old key's tokens run out.
    reply.header('cache-control', 'public, max-age=60');
    return identity.keys.jwks();
  });
}
