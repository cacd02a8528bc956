import { isIP } from 'node:net';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { actorId } from '../authz/audit-actor.js';
import { actsAsOwner, assertMayActForOwner, assertMayChangeForOwner, managesOwners, mayActForOwner, type CredentialChange } from '../authz/owner-access.js';
import { NotFoundError, ValidationError } from '../errors/index.js';
import { jsonObjectSchema } from '../http/json-depth.js';
import { principalOf, type Principal } from '../http/principal.js';
import type { AppContext } from '../server/app-context.js';
import { keyStatus, keyStopsAt, type ApiKeyRecord } from './api-key-store.js';
import { MAX_KEY_RATE_LIMIT, MAX_KEY_RATE_WINDOW_MS, type ActorContext, type OwnerStanding } from './api-key-service.js';
import type { ApiKeys } from './api-keys-domain.js';
import { heldPermissions, keyPrincipal } from './held-permissions.js';
import { displayPrefix } from './key-format.js';

const Permission = Type.String({ minLength: 3, maxLength: 130, pattern: '^[a-z*][a-z0-9_.*-]*:[a-z*][a-z0-9_.*-]*$' });
const IsoTime = Type.String({ format: 'date-time' });

const CreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    owner_id: Type.String({ minLength: 1, maxLength: 100 }),
    permissions: Type.Array(Permission, { maxItems: 100 }),
    environment: Type.Optional(Type.Union([Type.Literal('live'), Type.Literal('test')])),
    expires_at: Type.Optional(IsoTime),
    rate_limit: Type.Optional(
      Type.Object(
        { limit: Type.Integer({ minimum: 1, maximum: MAX_KEY_RATE_LIMIT }), window_ms: Type.Integer({ minimum: 1, maximum: MAX_KEY_RATE_WINDOW_MS }) },
        { additionalProperties: false },
      ),
    ),
    metadata: Type.Optional(jsonObjectSchema({ maxProperties: 50, maxKeyLength: 100 })),
  },
  { additionalProperties: false },
);
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });
const ListQuery = Type.Object(
  {
    owner_id: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
    // Opaque: the `next_cursor` of the previous page (decoded by the service; anything else is a 400).
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);
const RotateBody = Type.Object({ grace_period_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 365 * 86_400_000 })) }, { additionalProperties: false });
const UpdateBody = Type.Object({ enabled: Type.Boolean() }, { additionalProperties: false });
const VerifyBody = Type.Object(
  {
    key: Type.String({ minLength: 1, maxLength: 1024 }),
    permissions: Type.Optional(Type.Array(Permission, { maxItems: 100 })),
    // The address the key was presented from, as the calling gateway saw it (recorded as last used).
    ip: Type.Optional(Type.String({ minLength: 1, maxLength: 45 })),
  },
  { additionalProperties: false },
);

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

/** The wire form of a key: never the key or its hash. */
export function keyView(record: ApiKeyRecord, now: number): Record<string, unknown> {
  const status = keyStatus(record, now);
  return {
    id: record.id,
    prefix: displayPrefix(record.environment, record.prefix),
    name: record.name,
    owner_id: record.ownerId,
    environment: record.environment,
    permissions: record.permissions,
    metadata: record.metadata,
    rate_limit: record.rateLimit === undefined ? null : { limit: record.rateLimit.limit, window_ms: record.rateLimit.windowMs },
    status,
    // Whether the disable in force was made by someone managing the owner (only such a
    // caller can lift it); who did it is not shown, as the owner may not see other users.
    disabled_by_admin: record.disabledByAdmin,
    created_at: iso(record.createdAt),
    expires_at: iso(record.expiresAt),
    revoked_at: iso(record.revokedAt),
    rotated_from: record.rotatedFrom ?? null,
    replaced_by: record.replacedBy ?? null,
    usage_count: record.usageCount,
    last_used_at: iso(record.lastUsedAt),
    last_used_ip: record.lastUsedIp ?? null,
  };
}

// The authorization domain's view of what a principal may grant (roles for users, the
// credential's list for keys and clients); absent, the credential's own list is the cap.
type MaybeAuthz = { authz?: { notHeld?(principal: Principal, wanted: readonly string[]): Promise<string[]> } };

function actorOf(request: FastifyRequest, context: AppContext): ActorContext {
  const principal = request.principal;
  const authz = (context as AppContext & MaybeAuthz).authz;
  return {
    actor: actorId(principal),
    ip: request.ip,
    userAgent: request.headers['user-agent'],
    requestId: request.id,
    grantablePermissions: principal?.permissions ?? [],
    notHeld:
      principal === undefined || authz?.notHeld === undefined ? undefined : (wanted) => (authz.notHeld as NonNullable<typeof authz.notHeld>)(principal, wanted),
  };
}

function parseTime(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new ValidationError('expires_at is not a representable date-time (use e.g. 2030-01-01T00:00:00Z)', { field: 'expires_at' });
  return ms;
}

/** `/v1/keys` and `POST /v1/keys/verify`. */
export async function apiKeyRoutes(app: FastifyInstance, context: AppContext): Promise<void> {
  const apiKeys = context.apiKeys as ApiKeys | undefined;
  if (apiKeys === undefined) throw new TypeError('context.apiKeys is not wired (createApiKeys in createContext)');
  const { service, verifier } = apiKeys;
  const now = (): number => Date.now();
  /**
   * The key, if the caller may see it (another owner's key reads as absent) and, given the
   * change about to be made, change it (an administrator's key needs users:admin too).
   */
  const keyFor = async (
    request: FastifyRequest<{ Params: Static<typeof IdParams> }>,
    change?: Pick<CredentialChange, 'action' | 'details'>,
  ): Promise<ApiKeyRecord> => {
    const record = await service.get(request.params.id);
    if (record === undefined || !(await mayActForOwner(context, principalOf(request), record.ownerId, 'read'))) throw new NotFoundError('The API key');
    if (change !== undefined) {
      const details = { prefix: record.prefix, ...change.details };
      await assertMayChangeForOwner(context, request, record.ownerId, { action: change.action, entityType: 'api_key', entityId: record.id, details });
    }
    return record;
  };

  app.post<{ Body: Static<typeof CreateBody> }>(
    '/v1/keys',
    { schema: { body: CreateBody }, config: { permission: 'keys:write' } },
    async (request, reply) => {
      const body = request.body;
      await assertMayChangeForOwner(context, request, body.owner_id, { action: 'apikey.created', entityType: 'api_key' });
      const issued = await service.create(
        {
          name: body.name,
          ownerId: body.owner_id,
          permissions: body.permissions,
          environment: body.environment,
          expiresAt: parseTime(body.expires_at),
          rateLimit: body.rate_limit === undefined ? undefined : { limit: body.rate_limit.limit, windowMs: body.rate_limit.window_ms },
          metadata: body.metadata,
        },
        actorOf(request, context),
      );
      reply.header('cache-control', 'no-store');
      return reply.code(201).send({ key: issued.key, ...keyView(issued.record, now()) });
    },
  );

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/v1/keys',
    { schema: { querystring: ListQuery }, config: { permission: 'keys:read' } },
    async (request) => {
      const principal = principalOf(request);
      // Everyone's keys with users:read; without it only the caller's own.
      let ownerId = request.query.owner_id;
      if (ownerId !== undefined) await assertMayActForOwner(context, principal, ownerId, 'read');
      else if (!(await context.authorize(principal, 'users:read'))) ownerId = principal.subject;
      const page = await service.list({ ownerId, limit: request.query.limit, cursor: request.query.cursor });
      const at = now();
      return { data: page.data.map((r) => keyView(r, at)), next_cursor: page.next_cursor };
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/v1/keys/:id',
    { schema: { params: IdParams }, config: { permission: 'keys:read' } },
    async (request) => keyView(await keyFor(request), now()),
  );

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof RotateBody> | undefined | null }>(
    '/v1/keys/:id/rotate',
    {
      schema: { params: IdParams, body: RotateBody },
      config: { permission: 'keys:write' },
      // The body is optional (`{}` = the configured grace period); a present body is validated strictly.
      preValidation: async (request) => {
        if (request.body === undefined || request.body === null) request.body = {};
      },
    },
    async (request, reply) => {
      await keyFor(request, { action: 'apikey.rotated' });
      const issued = await service.rotate(request.params.id, actorOf(request, context), { graceMs: request.body?.grace_period_ms });
      reply.header('cache-control', 'no-store');
      return reply.code(201).send({ key: issued.key, ...keyView(issued.record, now()) });
    },
  );

  app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof UpdateBody> }>(
    '/v1/keys/:id',
    { schema: { params: IdParams, body: UpdateBody }, config: { permission: 'keys:write' } },
    async (request) => {
      const record = await keyFor(request, { action: 'apikey.updated', details: { enabled: request.body.enabled } });
      const principal = principalOf(request);
      // The owner (or an owner's key) acting on its own key neither locks it nor may lift a
      // lock, unless it also holds users:write; anyone else got here through users:write.
      const isOwner = actsAsOwner(principal, record.ownerId);
      const standing: OwnerStanding = { isOwner, managesOwners: !isOwner || (await managesOwners(context, principal, 'write')) };
      return keyView(await service.setEnabled(request.params.id, request.body.enabled, actorOf(request, context), standing), now());
    },
  );

  const revoke = async (request: FastifyRequest<{ Params: Static<typeof IdParams> }>): Promise<Record<string, unknown>> => {
    await keyFor(request, { action: 'apikey.revoked' });
    return keyView(await service.revoke(request.params.id, actorOf(request, context)), now());
  };
  app.post<{ Params: Static<typeof IdParams> }>('/v1/keys/:id/revoke', { schema: { params: IdParams }, config: { permission: 'keys:write' } }, revoke);
  app.delete<{ Params: Static<typeof IdParams> }>('/v1/keys/:id', { schema: { params: IdParams }, config: { permission: 'keys:write' } }, revoke);

  app.post<{ Body: Static<typeof VerifyBody> }>(
    '/v1/keys/verify',
    { schema: { body: VerifyBody }, config: { permission: 'keys:verify' } },
    async (request) => {
      // The caller is a gateway or service checking a key presented to it: its own address is
      // not where the key was used, so only the address it passes is recorded.
      const ip = request.body.ip;
      if (ip !== undefined && isIP(ip) === 0) throw new ValidationError('ip must be an IPv4 or IPv6 address', { field: 'ip' });
      // The key covers them; its owner must still hold them too (as for a guarded route),
      // checked before the key's rate limit and usage are spent. The authorizer answers
      // synchronously from its cache: no await then (no microtask).
      const ownerHolds = (key: ApiKeyRecord, permission: string) => context.authorize(keyPrincipal(key), permission);
      const options = { permissions: request.body.permissions, ip, ownerHolds };
      const result = verifier.verifyCached(request.body.key, options) ?? (await verifier.verify(request.body.key, options));
      const key = result.key;
      if (!result.valid) {
        await context.audit.record({
          action: 'apikey.verification_denied',
          actor: actorId(request.principal),
          entity_type: 'api_key',
          entity_id: key?.id,
          outcome: 'denied',
          ip: request.ip,
          request_id: request.id,
          details: { code: result.code, via: 'verify', prefix: key?.prefix },
        });
      }
      // What the key holds now, not its stored list: a gateway granting from this field must
      // not hand a demoted owner's key what Warden's own routes would refuse it.
      const held = key === undefined ? [] : heldPermissions(context.authorize, key);
      const rl = result.ratelimit;
      return {
        valid: result.valid,
        code: result.valid ? null : result.code,
        key_id: key?.id ?? null,
        owner_id: key?.ownerId ?? null,
        permissions: held instanceof Promise ? await held : held,
        // When it stops working (a rotated key: the end of its grace), for a gateway that caches the answer.
        expires_at: iso(key === undefined ? undefined : keyStopsAt(key)),
        ratelimit: rl === undefined ? null : { limit: rl.limit, remaining: rl.remaining, reset_ms: rl.reset_ms },
      };
    },
  );
}
