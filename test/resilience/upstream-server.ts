import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the fake upstream answers the next requests. */
export type UpstreamMode = 'ok' | 'fail' | 'hang';

/** A real local HTTP upstream whose behaviour a test switches, counting the requests it saw. */
export interface FakeUpstream {
  readonly url: string;
  mode: UpstreamMode;
  /** Value served in 'ok' mode. */
  value: number;
  hits: number;
  close(): Promise<void>;
}

/** Starts the upstream on a free port of 127.0.0.1. */
export async function startFakeUpstream(): Promise<FakeUpstream> {
  const hanging = new Set<ServerResponse>();
  const state: FakeUpstream = {
    url: '',
    mode: 'ok',
    value: 1,
    hits: 0,
    close: async () => undefined,
  };
  const server: Server = createServer((_request, response) => {
    state.hits += 1;
    if (state.mode === 'hang') {
      hanging.add(response);
      return;
    }
    if (state.mode === 'fail') {
      response.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"boom"}');
      return;
    }
    response
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ value: state.value }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  (state as { url: string }).url = `http://127.0.0.1:${port}/`;
  state.close = async () => {
    for (const response of hanging) response.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return state;
}

/** The outbound call the breaker wraps: GET the upstream, throw on a non-2xx answer. */
export async function fetchValue(url: string, signal: AbortSignal): Promise<{ value: number }> {
  const response = await fetch(url, { signal });
  if (!response.ok) throw new Error(`upstream answered ${response.status}`);
  return (await response.json()) as { value: number };
}
