import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

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
