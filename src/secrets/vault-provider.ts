import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { assertSecretName, isNetworkFailure, SecretProviderError, type SecretProvider } from './secret-provider.js';

export interface VaultProviderOptions {
  /** e.g. https://vault.internal:8200 */
  readonly address: string;
  /** A Vault token; or use `appRole`. */
  readonly token?: string;
  /** AppRole credentials, exchanged for a token at POST /v1/auth/<mount>/login. */
  readonly appRole?: { readonly roleId: string; readonly secretId: string; readonly mount?: string };
  /** Vault Enterprise namespace (X-Vault-Namespace header). */
  readonly namespace?: string;
  /** KV version 2 mount. @default 'secret' */
  readonly mount?: string;
  /** Path under the mount that holds one entry per secret. @default '' (mount root) */
  readonly path?: string;
  /** TLS: PEM CA bundle (contents or a file path via caFile). */
  readonly ca?: string;
  readonly caFile?: string;
  /** Request timeout. @default 5000 */
  readonly timeoutMs?: number;
  /** Clock for token expiry. @default Date.now */
  readonly now?: () => number;
}

const MAX_RESPONSE_BYTES = 1024 * 1024;

interface VaultResponse {
  readonly status: number;
  readonly body: unknown;
}

/**
 * HashiCorp Vault KV v2 (https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2).
 * A secret NAME is the KV entry `<path>/NAME`; its value is the entry's `value` field (or the
 * only field, or the whole data map as JSON). `set` writes `{value}`; `list` uses LIST (as GET ?list=true)
 * on the metadata endpoint. AppRole tokens are renewed by logging in again before they expire.
 */
export function createVaultProvider(options: VaultProviderOptions): SecretProvider {
  const base = new URL(options.address);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new TypeError('the Vault address must be http(s)');
  if (options.token === undefined && options.appRole === undefined) throw new TypeError('Vault needs a token or AppRole credentials');
  const mount = trimSlashes(options.mount ?? 'secret');
  const prefix = trimSlashes(options.path ?? '');
  const ca = options.ca ?? (options.caFile === undefined ? undefined : readFileSync(options.caFile, 'utf8'));
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 5000;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new TypeError('timeoutMs must be a positive integer');
  let token = options.token;
  let tokenExpiresAt = Number.POSITIVE_INFINITY;

  function request(method: string, urlPath: string, body?: unknown, authToken?: string): Promise<VaultResponse> {
    // An address with a path (Vault behind a proxy at /vault) keeps it, as Vault's own client does.
    const url = new URL(`${base.pathname.replace(/\/+$/, '')}/v1/${urlPath}`, base);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (authToken !== undefined) headers['x-vault-token'] = authToken;
    if (options.namespace !== undefined) headers['x-vault-namespace'] = options.namespace;
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        // A response cut short or a timeout means Vault did not answer: unavailable, like a refused connection.
        // The origin says which Vault (it never holds credentials: userinfo is not part of it).
        const unavailable = isNetworkFailure(error) || error.message === 'aborted';
        reject(error instanceof SecretProviderError ? error : new SecretProviderError('vault', `request to ${base.origin} failed (${(error as NodeJS.ErrnoException).code ?? error.message})`, { cause: error, unavailable }));
      };
      const req = transport.request(url, { method, headers, timeout: timeoutMs, ...(ca === undefined ? {} : { ca }) }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          // A KV entry is small; an endless or huge body is a broken or hostile server, not a secret.
          if (size > MAX_RESPONSE_BYTES) req.destroy(new SecretProviderError('vault', `response larger than ${MAX_RESPONSE_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(deadline);
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on('error', fail);
        res.on('aborted', () => fail(new Error('aborted')));
      });
      // `timeout` above only fires on an idle socket; a server trickling bytes needs a deadline for the whole request.
      const deadline = setTimeout(() => req.destroy(new Error('timeout')), timeoutMs);
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', fail);
      req.end(payload);
    });
  }

  async function currentToken(force = false): Promise<string> {
    if (options.appRole === undefined) return token as string;
    if (!force && token !== undefined && now() < tokenExpiresAt) return token;
    const loginMount = trimSlashes(options.appRole.mount ?? 'approle');
    const res = await request('POST', `auth/${loginMount}/login`, { role_id: options.appRole.roleId, secret_id: options.appRole.secretId });
    const auth = (res.body as { auth?: { client_token?: unknown; lease_duration?: unknown } } | undefined)?.auth;
    if (res.status !== 200 || typeof auth?.client_token !== 'string') throw new SecretProviderError('vault', `AppRole login failed (HTTP ${res.status})`, { unavailable: res.status >= 500 });
    token = auth.client_token;
    const lease = typeof auth.lease_duration === 'number' && auth.lease_duration > 0 ? auth.lease_duration : Number.POSITIVE_INFINITY;
    // Log in again at 80 % of the lease so a token never expires mid-request.
    tokenExpiresAt = now() + lease * 800;
    return token;
  }

  async function authed(method: string, urlPath: string, body?: unknown): Promise<VaultResponse> {
    let res = await request(method, urlPath, body, await currentToken());
    if (res.status === 403 && options.appRole !== undefined) res = await request(method, urlPath, body, await currentToken(true));
    return res;
  }

  // Vault's "no such entry" is a 404 with `{"errors":[]}` (or a deleted version's metadata). Any
  // other 404 (a wrong namespace or mount: "no handler for route"; a proxy's page) is a failure:
  // taken as "absent", every secret would look unset and a chain would fall through to the next provider.
  const notKvAbsence = (what: string): SecretProviderError =>
    new SecretProviderError('vault', `${what} failed: ${base.origin} answered HTTP 404 that is not a KV v2 "no such entry" (wrong mount, path or namespace?)`);

  const entry = (name: string): string => [mount, 'data', prefix, name].filter((s) => s !== '').join('/');

  return {
    name: 'vault',
    async get(name) {
      assertSecretName(name);
      const res = await authed('GET', entry(name));
      if (res.status === 404) {
        if (saysAbsent(res.body)) return undefined;
        throw notKvAbsence(`reading ${name}`);
      }
      // 5xx: sealed, standby without forwarding, overloaded; a retry may succeed.
      if (res.status !== 200) throw new SecretProviderError('vault', `reading ${name} failed (HTTP ${res.status})`, { unavailable: res.status >= 500 });
      const body = res.body as { data?: { data?: unknown } } | undefined;
      // A deleted or destroyed latest version: Vault answers 404 with this body, but it says "absent" under any status.
      if (isDeletedVersion(body)) return undefined;
      const data = body?.data?.data;
      // A 200 that is not a KV v2 entry (a proxy's page, a KV v1 mount, a truncated answer) is a
      // failure, never "not found": a chain would silently fall through to the next provider.
      if (data === null || typeof data !== 'object' || Array.isArray(data)) {
        const why = body === undefined ? 'a body that is empty or not JSON' : 'JSON without a data.data object (is the mount KV version 2?)';
        throw new SecretProviderError('vault', `reading ${name} failed: ${base.origin} answered HTTP 200 with ${why}`);
      }
      const fields = data as Record<string, unknown>;
      if (typeof fields.value === 'string') return fields.value;
      const keys = Object.keys(fields);
      if (keys.length === 1 && typeof fields[keys[0] as string] === 'string') return fields[keys[0] as string] as string;
      return JSON.stringify(fields);
    },
    async set(name, value) {
      assertSecretName(name);
      const res = await authed('POST', entry(name), { data: { value } });
      if (res.status !== 200 && res.status !== 204) throw new SecretProviderError('vault', `writing ${name} failed (HTTP ${res.status})`, { unavailable: res.status >= 500 });
    },
    async list(listPrefix) {
      const dir = [mount, 'metadata', prefix].filter((s) => s !== '').join('/');
      // `GET …?list=true` is Vault's documented equivalent of the LIST verb, and passes proxies that reject custom verbs.
      const res = await authed('GET', `${dir}/?list=true`);
      if (res.status === 404 && !saysAbsent(res.body)) throw notKvAbsence('listing');
      if (res.status === 404) return [];
      if (res.status !== 200) throw new SecretProviderError('vault', `listing failed (HTTP ${res.status})`, { unavailable: res.status >= 500 });
      const keys = (res.body as { data?: { keys?: unknown } } | undefined)?.data?.keys;
      // As for `get`: an answer that cannot be read is a failure, not an empty list.
      if (!Array.isArray(keys)) {
        const why = res.body === undefined ? 'a body that is empty or not JSON' : 'JSON without a data.keys list';
        throw new SecretProviderError('vault', `listing failed: ${base.origin} answered HTTP 200 with ${why}`);
      }
      return keys.filter((k): k is string => typeof k === 'string' && !k.endsWith('/') && k.startsWith(listPrefix)).sort();
    },
  };
}

/** True for Vault's own 404 body for an entry that does not exist, or exists only as deleted versions. */
function saysAbsent(body: unknown): boolean {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  return (Array.isArray(errors) && errors.length === 0) || isDeletedVersion(body);
}

/** A KV v2 read of a deleted or destroyed latest version: `data.data` null, its metadata saying so. */
function isDeletedVersion(body: unknown): boolean {
  const data = (body as { data?: { data?: unknown; metadata?: { deletion_time?: unknown; destroyed?: unknown } } } | undefined)?.data;
  const metadata = data?.metadata;
  return data?.data === null && ((typeof metadata?.deletion_time === 'string' && metadata.deletion_time !== '') || metadata?.destroyed === true);
}

function trimSlashes(value: string): string {
  return value.replace(/^\/+|\/+$/g, '');
}
