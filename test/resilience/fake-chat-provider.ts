import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCircuitBreaker, type CircuitBreaker } from '../../src/resilience/circuit-breaker.js';
import { createLogTriage, type LogTriage } from '../../src/resilience/log-triage.js';
import { createRecentErrorLog } from '../../src/resilience/recent-error-log.js';

/** One request the fake provider received, exactly as it arrived on the wire. */
export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawBody: string;
}

/** A local OpenAI-compatible chat API that records everything it receives. */
export interface FakeChatProvider {
  readonly baseUrl: string;
  readonly received: ReceivedRequest[];
  /** HTTP status to answer with (200 = a normal completion). */
  status: number;
  summary: string;
  close(): Promise<void>;
}

/** Starts the provider on a free port; `baseUrl` ends in `/v1` like real providers. */
export async function startFakeChatProvider(): Promise<FakeChatProvider> {
  const received: ReceivedRequest[] = [];
  const state = { status: 200, summary: 'Two database timeouts; check the connection pool.' };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        rawBody: Buffer.concat(chunks).toString('utf8'),
      });
      if (state.status !== 200) {
        response
          .writeHead(state.status, { 'content-type': 'application/json' })
          .end('{"error":{"message":"unavailable"}}');
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: 'chatcmpl-1',
          object: 'chat.completion',
          choices: [
            { index: 0, message: { role: 'assistant', content: state.summary }, finish_reason: 'stop' },
          ],
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    received,
    get status() {
      return state.status;
    },
    set status(value: number) {
      state.status = value;
    },
    get summary() {
      return state.summary;
    },
    set summary(value: string) {
      state.summary = value;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Log triage whose provider is a fetch stub answering "ok" and recording every request body
 * (what would have left the process); call `breaker.dispose()` when done.
 */
export function triageCapturingBodies(): { bodies: string[]; triage: LogTriage; breaker: CircuitBreaker } {
  const bodies: string[] = [];
  const fakeFetch = (async (_url: unknown, init?: RequestInit) => {
    bodies.push(String(init?.body));
    return new Response(JSON.stringify({ choices: [{ message: { content: 'ok' } }] }), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
  }) as typeof fetch;
  const breaker = createCircuitBreaker({ name: 'llm', timeoutMs: 5000 });
  const triage = createLogTriage({
    provider: { baseUrl: 'https://llm.example/v1', model: 'm' },
    breaker,
    recentErrors: createRecentErrorLog(),
    fetch: fakeFetch,
  });
  return { bodies, triage, breaker };
}
