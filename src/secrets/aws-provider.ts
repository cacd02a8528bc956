import type * as AwsSdk from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { assertSecretName, isNetworkFailure, SecretProviderError, type SecretProvider } from './secret-provider.js';

type Sdk = typeof AwsSdk;

export interface AwsProviderOptions {
  readonly region: string;
  /** Prefix of every Warden secret id. @default 'warden/' */
  readonly prefix?: string;
  /** Endpoint override (an emulator); unset = the real service. */
  readonly endpoint?: string;
  /** Per-attempt request and connection timeout of the created client. @default 5000 */
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
  // The SDK is loaded on first use only, so deployments without AWS never pay for it.
  let sdk: Promise<Sdk> | undefined;
  let created: SecretsManagerClient | undefined;
  const load = async (): Promise<{ client: SecretsManagerClient; m: Sdk }> => {
    sdk ??= import('@aws-sdk/client-secrets-manager');
    const m = await sdk;
    // The SDK has no request timeout by default (and only warns on one unless told to throw): an
    // unresponsive endpoint would hang start-up forever.
    const timeoutMs = options.timeoutMs ?? 5000;
    created ??=
      options.client ??
      new m.SecretsManagerClient({
        region: options.region,
        requestHandler: { requestTimeout: timeoutMs, connectionTimeout: timeoutMs, throwOnRequestTimeout: true },
        ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      });
    return { client: created, m };
  };
  const fail = (what: string, error: unknown): never => {
    const name = (error as { name?: string } | undefined)?.name ?? 'error';
    // Unreachable (network, DNS, timeout) or a 5xx answer; a 4xx (denied, bad request) is not.
    const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
    const unavailable = isNetworkFailure(error) || (status !== undefined && status >= 500);
    throw new SecretProviderError('aws', `${what} failed (${name})`, { cause: error, unavailable });
  };
  return {
    name: 'aws',
    async get(name) {
      assertSecretName(name);
      const { client, m } = await load();
      try {
        const out = await client.send(new m.GetSecretValueCommand({ SecretId: prefix + name }));
        if (out.SecretString !== undefined) return out.SecretString;
        if (out.SecretBinary !== undefined) return Buffer.from(out.SecretBinary).toString('base64');
        return undefined;
      } catch (error) {
        if (error instanceof m.ResourceNotFoundException) return undefined;
        return fail(`reading ${name}`, error);
      }
    },
    async set(name, value) {
      assertSecretName(name);
      const { client, m } = await load();
      try {
        await client.send(new m.PutSecretValueCommand({ SecretId: prefix + name, SecretString: value }));
      } catch (error) {
        if (!(error instanceof m.ResourceNotFoundException)) fail(`writing ${name}`, error);
        try {
          await client.send(new m.CreateSecretCommand({ Name: prefix + name, SecretString: value }));
        } catch (createError) {
          fail(`creating ${name}`, createError);
        }
      }
    },
    async list(listPrefix) {
      const names: string[] = [];
      let next: string | undefined;
      const { client, m } = await load();
      try {
        do {
          const out = await client.send(new m.ListSecretsCommand({ NextToken: next, MaxResults: 100 }));
          for (const s of out.SecretList ?? []) {
            if (s.Name !== undefined && s.Name.startsWith(prefix + listPrefix)) names.push(s.Name.slice(prefix.length));
          }
          next = out.NextToken;
        } while (next !== undefined);
      } catch (error) {
        fail('listing', error);
      }
      return names.sort();
    },
    close() {
      if (options.client === undefined) created?.destroy();
    },
  };
}
