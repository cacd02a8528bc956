import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeTokenEndpoint {
  readonly url: string;
  /** Token requests received (including failed ones). */
  calls: number;
  /** Respond with this status (and RFC 6749 error body) for the next N calls. */
  failNext(count: number, status: number, error?: string): void;
  /** What the last request carried (for assertions on client authentication). */
  lastRequest: { authorization: string | undefined; form: URLSearchParams } | undefined;
  close(): Promise<void>;
}

/** A local RFC 6749 token endpoint (client credentials) speaking the documented wire format. */
export async function startFakeTokenEndpoint(options: { clientId: string; clientSecret: string; expiresIn?: number }): Promise<FakeTokenEndpoint> {
  let failures: { count: number; status: number; error: string } = { count: 0, status: 0, error: '' };
  let issued = 0;
  const endpoint: FakeTokenEndpoint = {
    url: '',
    calls: 0,
    lastRequest: undefined,
    failNext(count, status, error = 'server_error') {
      failures = { count, status, error };
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      endpoint.calls += 1;
      const form = new URLSearchParams(body);
      endpoint.lastRequest = { authorization: req.headers.authorization, form };
      const reply = (status: number, payload: object): void => {
        res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify(payload));
      };
      if (failures.count > 0) {
        failures.count -= 1;
        reply(failures.status, { error: failures.error });
        return;
      }
      let id = form.get('client_id');
      let secret = form.get('client_secret');
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
      if (basic?.[1] !== undefined) {
        const [u, p] = Buffer.from(basic[1], 'base64').toString().split(':');
        id = decodeURIComponent((u ?? '').replace(/\+/g, ' '));
        secret = decodeURIComponent((p ?? '').replace(/\+/g, ' '));
      }
      if (form.get('grant_type') !== 'client_credentials') return reply(400, { error: 'unsupported_grant_type' });
      if (id !== options.clientId || secret !== options.clientSecret) return reply(401, { error: 'invalid_client' });
      issued += 1;
      reply(200, { access_token: `token-${issued}`, token_type: 'Bearer', expires_in: options.expiresIn ?? 300, scope: form.get('scope') ?? '' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (endpoint as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/token`;
  return endpoint;
}
