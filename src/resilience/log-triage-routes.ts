import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AuditEventInput, AuditRecorder } from '../audit/audit-event.js';
import { actorId } from '../authz/audit-actor.js';
import type { AppContext } from '../server/app-context.js';
import { WardenError } from '../errors/index.js';
import { createRedactor, redactionOptionsFromSettings } from '../redact/index.js';
import { createCircuitBreaker, DEGRADED_HEADER, degradedHeader } from './circuit-breaker.js';
import { fallbackCacheFromSettings } from './fallback-cache-from-settings.js';
import { createLogTriage, type LogTriage } from './log-triage.js';

const TriageBody = Type.Object(
  {
    lines: Type.Optional(Type.Array(Type.String({ maxLength: 16_384 }), { maxItems: 2000 })),
  },
  { additionalProperties: false },
);

const ChatBody = Type.Object(
  {
    model: Type.String(),
    messages: Type.Array(
      Type.Object(
        { role: Type.Union([Type.Literal('system'), Type.Literal('user')]), content: Type.String() },
        { additionalProperties: false },
      ),
    ),
    temperature: Type.Number(),
  },
  { additionalProperties: false },
);

const TriageResponse = Type.Object(
  {
    summary: Type.Union([Type.String(), Type.Null()]),
    sent: Type.Union([ChatBody, Type.Null()]),
    payload: Type.Union([ChatBody, Type.Null()]),
    provider_configured: Type.Boolean(),
    source: Type.Union([Type.Literal('request'), Type.Literal('recent_errors')]),
    lines_received: Type.Integer(),
    lines_sent: Type.Integer(),
    degraded: Type.Optional(
      Type.Object(
        {
          age_ms: Type.Integer(),
          reason: Type.Union([
            Type.Literal('circuit_open'),
            Type.Literal('upstream_timeout'),
            Type.Literal('upstream_error'),
          ]),
        },
        { additionalProperties: false },
      ),
    ),
    detail: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

/** `POST /v1/admin/log-triage` (permission `logs:triage`) over a triage service. */
export async function logTriageRoutes(
  app: FastifyInstance,
  triage: LogTriage,
  audit: Pick<AuditRecorder, 'record'>,
): Promise<void> {
  app.post<{ Body: Static<typeof TriageBody> }>(
    '/v1/admin/log-triage',
    {
      config: { permission: 'logs:triage' },
      schema: { body: TriageBody, response: { 200: TriageResponse } },
    },
    async (request, reply) => {
      // Sending log excerpts to a third party is worth a trail: who, how much, whether it left,
      // also when the provider failed after the excerpts had left.
      const facts = { action: 'logs.triaged', actor: actorId(request.principal), ip: request.ip, request_id: request.id } as const;
      let result: Awaited<ReturnType<LogTriage['triage']>>;
      try {
        result = await triage.triage({ lines: request.body?.lines });
      } catch (error) {
        const code = error instanceof WardenError ? error.code : 'internal_error';
        // Only an open circuit is known to have sent nothing; any other failure may have.
        await audit.record({ ...facts, outcome: 'failure', details: { reason: code, sent_to_provider: code !== 'circuit_open' } });
        throw error;
      }
      await audit.record({
        ...facts,
        outcome: 'success',
        details: {
          source: result.source,
          lines_sent: result.lines_sent,
          // A degraded answer after a timeout or upstream error follows a call that did leave.
          sent_to_provider: result.sent !== null || (result.degraded !== undefined && result.degraded.reason !== 'circuit_open'),
          degraded: result.degraded?.reason ?? null,
        },
      });
      if (result.degraded !== undefined) {
        void reply.header(
          DEGRADED_HEADER,
          degradedHeader({ ageMs: result.degraded.age_ms, reason: result.degraded.reason }),
        );
      }
      return result;
    },
  );
}

/** Route module: builds the LLM breaker and the triage service from the context's settings. */
export async function logTriageRouteModule(app: FastifyInstance, context: AppContext): Promise<void> {
  const { settings, logger } = context;
  if (settings.llmUrl !== undefined && settings.llmModel === undefined) {
    throw new WardenError('config_invalid', 'WARDEN_LLM_URL is set but WARDEN_LLM_MODEL is not');
  }
  const fallbackCache = fallbackCacheFromSettings(settings, logger);
  const breaker = createCircuitBreaker({
    name: 'llm',
    timeoutMs: settings.llmTimeoutMs,
    opening: { kind: 'consecutive', failures: settings.breakerFailureThreshold },
    halfOpenAfterMs: settings.breakerHalfOpenAfterMs,
    fallbackCache,
    // A WardenError is our own request being rejected (4xx), not the provider being down.
    isFailure: (error) => !(error instanceof WardenError),
    logger,
    metricsRegistry: context.metricsRegistry,
  });
  context.onClose.push(async () => {
    breaker.dispose();
    await fallbackCache.close();
  });
  const provider =
    settings.llmUrl === undefined || settings.llmModel === undefined
      ? undefined
      : { baseUrl: settings.llmUrl, model: settings.llmModel, apiKey: settings.llmApiKey };
  // context.audit is read per request: the audit domain may replace the recorder after routes register.
  const audit = { record: (event: AuditEventInput) => context.audit.record(event) };
  await logTriageRoutes(
    app,
    createLogTriage({
      provider,
      breaker,
      recentErrors: context.recentErrors,
      redactor: createRedactor(redactionOptionsFromSettings(settings)),
    }),
    audit,
  );
}
