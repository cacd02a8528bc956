import { Readable, Transform, pipeline } from 'node:stream';
import type * as AwsSdk from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { assertSecretName, isNetworkFailure, SecretProviderError, type SecretProvider } from './secret-provider.js';

type Sdk = typeof AwsSdk;

/**
 * Largest response body read from the endpoint. A secret value is at most 64 KiB (binary ones
 * arrive base64-encoded in JSON), and a ListSecrets page of 100 entries stays well below this;
 * an endless or huge body is a broken or hostile endpoint, not a secret.
 */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** Internal marker: the body went over MAX_RESPONSE_BYTES (the SDK adds text to the errors it passes on). */
class ResponseTooLarge extends Error {}

/**
 * Replaces a response body stream by one that fails once it has carried more than
 * MAX_RESPONSE_BYTES, and destroys the original (closing the connection) when it does.
 */
function limitBody(body: unknown): unknown {
  if (!(body instanceof Readable)) return body;
  let size = 0;
  const limited = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) callback(new ResponseTooLarge(`response larger than ${MAX_RESPONSE_BYTES} bytes`));
      else callback(null, chunk);
    },
  });
  // pipeline destroys both streams when either fails (the limit, an abort, a reset connection).
  pipeline(body, limited, () => undefined);
  return limited;
}

export interface AwsProviderOptions {
  readonly region: string;
  /** Prefix of every Warden secret id. @default 'warden/' */
  readonly prefix?: string;
  /** Endpoint override (an emulator); unset = the real service. */
  readonly endpoint?: string;
  /**
   * Deadline of one call (`get`, `set`, one `list` page), retries and reading the response body
   * included; also the connection timeout and the socket idle timeout of the created client.
   * @default 5000
   */
  readonly timeoutMs?: number;
  /** A client to use instead of creating one (credentials then come from it). */
  readonly client?: SecretsManagerClient;
}

/**
 * AWS Secrets Manager. A secret NAME is the secret id `<prefix>NAME` (string secrets; binary
 * secrets are returned base64-encoded). Credentials come from the SDK's standard chain
 * (environment, shared config, SSO, instance/container roles).
 */
export function createAwsProvider(options: AwsProviderOptions): SecretProvider & { close(): void } {
  const prefix = options.prefix ?? 'warden/';
  const timeoutMs = options.timeoutMs ?? 5000;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new TypeError('timeoutMs must be a positive integer');
  // The SDK is loaded on first use only, so deployments without AWS never pay for it.
  let sdk: Promise<Sdk> | undefined;
  let created: SecretsManagerClient | undefined;
  const load = async (): Promise<{ client: SecretsManagerClient; m: Sdk }> => {
    sdk ??= import('@aws-sdk/client-secrets-manager');
    const m = await sdk;
    // The SDK has no request timeout by default (and only warns on one unless told to throw): an
    // unresponsive endpoint would hang start-up forever. Its requestTimeout is cleared once the
    // headers arrive, so it does not cover the body: the socket timeout (idle) and the deadline
    // of each call (`deadline` below) do.
    created ??=
      options.client ??
      new m.SecretsManagerClient({
        region: options.region,
        requestHandler: { requestTimeout: timeoutMs, connectionTimeout: timeoutMs, socketTimeout: timeoutMs, throwOnRequestTimeout: true },
        ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      });
    return { client: created, m };
  };
  // One deadline for the whole call: connecting, every retry, and reading the body (an endpoint
  // that sends headers and then stalls or trickles would otherwise keep the call pending forever).
  // Applies to an injected client too.
  const deadline = (): AbortSignal => AbortSignal.timeout(timeoutMs);
  const where = options.endpoint === undefined ? '' : ` at ${new URL(options.endpoint).origin}`;
  const fail = (what: string, error: unknown, signal: AbortSignal): never => {
    if (signal.aborted) {
      throw new SecretProviderError('aws', `${what} failed (no complete answer within ${timeoutMs} ms)`, { cause: error, unavailable: true });
    }
    if (causes(error).some((e) => e instanceof ResponseTooLarge)) {
      throw new SecretProviderError('aws', `${what} failed (response larger than ${MAX_RESPONSE_BYTES} bytes)`, { cause: error });
    }
    const name = (error as { name?: string } | undefined)?.name ?? 'error';
    // Unreachable (network, DNS, timeout) or a 5xx answer; a 4xx (denied, bad request) is not.
    const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
    const unavailable = isNetworkFailure(error) || (status !== undefined && status >= 500);
    // What an operator can act on: the socket's error code (ECONNREFUSED…) or the HTTP status,
    // and the endpoint when one is configured (as the Vault provider names its address). The
    // SDK's own message is not used: it can quote the request.
    const code = causes(error)
      .map((e) => (e as NodeJS.ErrnoException | undefined)?.code)
      .find((c): c is string => typeof c === 'string' && /^E[A-Z_]{2,30}$/.test(c));
    const reason = code ?? (status !== undefined ? `HTTP ${status}` : name);
    throw new SecretProviderError('aws', `${what}${where} failed (${reason})`, { cause: error, unavailable });
  };
  return {
    name: 'aws',
    async get(name) {
      assertSecretName(name);
      const { client, m } = await load();
      const signal = deadline();
      try {
        const out = await client.send(bounded(new m.GetSecretValueCommand({ SecretId: prefix + name })), { abortSignal: signal });
        if (out.SecretString !== undefined) return out.SecretString;
        if (out.SecretBinary !== undefined) return Buffer.from(out.SecretBinary).toString('base64');
        return undefined;
      } catch (error) {
        if (error instanceof m.ResourceNotFoundException) return undefined;
        return fail(`reading ${name}`, error, signal);
      }
    },
    async set(name, value) {
      assertSecretName(name);
      const { client, m } = await load();
      const signal = deadline();
      try {
        await client.send(bounded(new m.PutSecretValueCommand({ SecretId: prefix + name, SecretString: value })), { abortSignal: signal });
      } catch (error) {
        if (!(error instanceof m.ResourceNotFoundException)) fail(`writing ${name}`, error, signal);
        const createSignal = deadline();
        try {
          await client.send(bounded(new m.CreateSecretCommand({ Name: prefix + name, SecretString: value })), { abortSignal: createSignal });
        } catch (createError) {
          fail(`creating ${name}`, createError, createSignal);
        }
      }
    },
    async list(listPrefix) {
      const names: string[] = [];
      let next: string | undefined;
      const { client, m } = await load();
      // A deadline per page: a long listing is several requests.
      let signal = deadline();
      try {
        do {
          if (next !== undefined) signal = deadline();
          const out = await client.send(bounded(new m.ListSecretsCommand({ NextToken: next, MaxResults: 100 })), { abortSignal: signal });
          for (const s of out.SecretList ?? []) {
            if (s.Name !== undefined && s.Name.startsWith(prefix + listPrefix)) names.push(s.Name.slice(prefix.length));
          }
          next = out.NextToken;
        } while (next !== undefined);
      } catch (error) {
        fail('listing', error, signal);
      }
      return names.sort();
    },
    close() {
      if (options.client === undefined) created?.destroy();
    },
  };
}

/** The part of an SDK command's middleware stack used here. */
interface CommandWithStack {
  readonly middlewareStack: { add(middleware: unknown, options: unknown): void };
}

type NextHandler = (args: unknown) => Promise<{ response: unknown }>;

/**
 * The command, with its response body bounded by MAX_RESPONSE_BYTES. The middleware sits in the
 * deserialize step below the SDK's deserializer, so it sees the raw HTTP response before the
 * body is read.
 */
function bounded<C extends CommandWithStack>(command: C): C {
  command.middlewareStack.add(
    (next: NextHandler) => async (args: unknown) => {
      const out = await next(args);
      const response = out.response as { body?: unknown } | undefined;
      if (response !== undefined && response !== null && typeof response === 'object') response.body = limitBody(response.body);
      return out;
    },
    { step: 'deserialize', priority: 'low', name: 'wardenResponseBodyLimit' },
  );
  return command;
}

function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 4; current = (current as { cause?: unknown }).cause, depth++) chain.push(current);
  return chain;
}
