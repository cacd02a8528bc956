import Fastify from 'fastify';
import { expect, it } from 'vitest';
import type { AuditEventInput } from '../../src/audit/audit-event.js';
import { createCircuitBreaker } from '../../src/resilience/circuit-breaker.js';
import { createMemoryFallbackCache } from '../../src/resilience/fallback-cache.js';
import { logTriageRoutes } from '../../src/resilience/log-triage-routes.js';
import { createLogTriage } from '../../src/resilience/log-triage.js';
import { createRecentErrorLog } from '../../src/resilience/recent-error-log.js';

// The audit of a triage says whether the excerpts left the process. A degraded answer after a
// timeout or an upstream error follows a call that reached the provider: they did leave.
it('audits sent_to_provider: true when a degraded answer follows a call that reached the provider', async () => {
  const received: string[] = [];
  let status = 200;
  const fakeFetch = (async (_url: unknown, init?: RequestInit) => {
    received.push(String(init?.body));
    return status === 200
      ? new Response(JSON.stringify({ choices: [{ message: { content: 'summary' } }] }), { status: 200 })
      : new Response('{"error":"overloaded"}', { status });
  }) as typeof fetch;
  const breaker = createCircuitBreaker({ name: 'llm', fallbackCache: createMemoryFallbackCache() });
  const triage = createLogTriage({
    provider: { baseUrl: 'https://llm.example/v1', model: 'm' },
    breaker,
    recentErrors: createRecentErrorLog(),
    fetch: fakeFetch,
  });
  const audited: AuditEventInput[] = [];
  const app = Fastify();
  await logTriageRoutes(app, triage, { record: async (e: AuditEventInput) => void audited.push(e) });
  const body = { lines: ['2026-12-07T10:00:00Z ERROR payment job failed for order 42'] };

  const first = await app.inject({ method: 'POST', url: '/v1/admin/log-triage', payload: body });
  expect(first.statusCode).toBe(200);
  status = 503;
  const second = await app.inject({ method: 'POST', url: '/v1/admin/log-triage', payload: body });
  expect(second.statusCode).toBe(200);
  expect(second.headers['warden-degraded']).toContain('reason=upstream_error');
  // The provider received the excerpts twice.
  expect(received).toHaveLength(2);
  const details = audited[1]?.details as Record<string, unknown>;
  expect(details.degraded).toBe('upstream_error');
  expect(details.sent_to_provider, 'the excerpts left the process on the degraded call').toBe(true);
  breaker.dispose();
  await app.close();
});
