import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for HashiCorp Vault that speaks the documented wire protocol of the KV v2
 * engine (GET/POST /v1/<mount>/data/<path>, LIST /v1/<mount>/metadata/<path>) and AppRole
 * login (POST /v1/auth/approle/login), checking X-Vault-Token and X-Vault-Namespace.
 * No Vault binary can be installed here; docs/secrets.md says so.
 */
export interface VaultStandIn {
  readonly url: string;
  /** KV data by full path "<mount>/<path>" → fields. */
  readonly kv: Map<string, Record<string, unknown>>;
  readonly tokens: Set<string>;
  /** Every request seen: method, path and the namespace header. */
  readonly requests: { method: string; path: string; namespace: string | undefined }[];
  /** TCP connections accepted so far (a request that never completes is counted here too). */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startVaultStandIn(
  options: { namespace?: string; roleId?: string; secretId?: string; rootToken?: string; tls?: { key: string; cert: string } } = {},
): Promise<VaultStandIn> {
  const kv = new Map<string, Record<string, unknown>>();
  const tokens = new Set<string>(options.rootToken === undefined ? [] : [options.rootToken]);
  const requests: VaultStandIn['requests'] = [];
  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const namespace = req.headers['x-vault-namespace'] as string | undefined;
      const method = url.searchParams.get('list') === 'true' ? 'LIST' : (req.method ?? 'GET');
      requests.push({ method, path: url.pathname, namespace });
      const send = (status: number, body?: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(body === undefined ? '' : JSON.stringify(body));
      };
      const body = chunks.length === 0 ? {} : (JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>);
      if (options.namespace !== undefined && namespace !== options.namespace) return send(404, { errors: ['no handler for route'] });
      if (method === 'POST' && url.pathname === '/v1/auth/approle/login') {
        if (body.role_id !== options.roleId || body.secret_id !== options.secretId) return send(400, { errors: ['invalid role or secret ID'] });
        const token = `hvs.${randomBytes(12).toString('hex')}`;
        tokens.add(token);
        return send(200, { auth: { client_token: token, lease_duration: 3600, renewable: true, policies: ['default'] } });
      }
      const token = req.headers['x-vault-token'];
      if (typeof token !== 'string' || !tokens.has(token)) return send(403, { errors: ['permission denied'] });
      const match = /^\/v1\/([^/]+)\/(data|metadata)\/(.*)$/.exec(url.pathname);
      if (match === null) return send(404, { errors: [] });
      const [, mount, kind, rest] = match as unknown as [string, string, string, string];
      if (kind === 'data' && method === 'GET') {
        const data = kv.get(`${mount}/${rest}`);
        return data === undefined ? send(404, { errors: [] }) : send(200, { data: { data, metadata: { version: 1 } } });
      }
      if (kind === 'data' && (method === 'POST' || method === 'PUT')) {
        kv.set(`${mount}/${rest}`, body.data as Record<string, unknown>);
        return send(200, { data: { version: 1 } });
      }
      if (kind === 'metadata' && method === 'LIST') {
        const dir = `${mount}/${rest.replace(/\/?$/, '/')}`;
        const keys = new Set<string>();
        for (const key of kv.keys()) {
          if (!key.startsWith(dir)) continue;
          const tail = key.slice(dir.length);
          keys.add(tail.includes('/') ? `${tail.split('/')[0]}/` : tail);
        }
        return keys.size === 0 ? send(404, { errors: [] }) : send(200, { data: { keys: [...keys] } });
      }
      return send(405, { errors: ['unsupported operation'] });
    });
  };
  const server = options.tls === undefined ? http.createServer(handler) : https.createServer(options.tls, handler);
  let connections = 0;
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    kv,
    tokens,
    requests,
    get connections() {
      return connections;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
