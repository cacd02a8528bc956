import { WardenError } from '../errors/index.js';

/**
 * A backend that holds secrets by name. `get` resolves undefined when the secret does not
 * exist there (so a chain can try the next provider) and throws SecretProviderError when the
 * backend itself fails. `set` and `list` exist only where the backend supports them.
 */
export interface SecretProvider {
  /** Short name used in messages, e.g. "env", "file:/run/secrets", "vault", "aws". */
  readonly name: string;
  get(name: string): Promise<string | undefined>;
  set?(name: string, value: string): Promise<void>;
  list?(prefix: string): Promise<string[]>;
}

/** A secret that none of the providers holds; names the secret and the providers tried, never a value. */
export class SecretNotFoundError extends WardenError {
  readonly secretName: string;
  readonly providersTried: readonly string[];

  constructor(secretName: string, providersTried: readonly string[]) {
    super('secret_not_found', `secret ${secretName} was not found (tried: ${providersTried.join(', ') || 'no provider'})`, {
      fields: { secret: secretName, providers: providersTried },
    });
    this.secretName = secretName;
    this.providersTried = Object.freeze([...providersTried]);
  }
}

/** A provider that failed (unreachable, denied, bad response); the message never contains a secret. */
export class SecretProviderError extends WardenError {
  readonly provider: string;

  constructor(provider: string, message: string, options: { cause?: unknown } = {}) {
    super('secret_provider_error', `secret provider ${provider}: ${message}`, { cause: options.cause, fields: { provider } });
    this.provider = provider;
  }
}

const SECRET_NAME = /^[A-Za-z0-9_.\-/]{1,256}$/;

/** Rejects names that could escape a directory or a path prefix ("..", absolute, odd characters). */
export function assertSecretName(name: string): void {
  if (!SECRET_NAME.test(name) || name.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new TypeError('a secret name is 1-256 characters of A-Z a-z 0-9 _ . - / without empty, "." or ".." segments');
  }
}
