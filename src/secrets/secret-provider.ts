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
  /**
   * True when the backend could not be reached or answered with a server error (connection
   * refused, DNS, timeout, TLS, HTTP 5xx): retrying later may work, so the CLI exits 69. False
   * when it answered and refused (denied, not found, not supported).
   */
  readonly unavailable: boolean;

  constructor(provider: string, message: string, options: { cause?: unknown; unavailable?: boolean } = {}) {
    super('secret_provider_error', `secret provider ${provider}: ${message}`, { cause: options.cause, fields: { provider } });
    this.provider = provider;
    this.unavailable = options.unavailable ?? false;
  }
}

// Node's codes for a peer that cannot be reached, named or kept (connect, DNS, reset, TLS).
const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** True when `error` (or its cause) says the backend was not reached: a network, DNS, TLS or timeout failure. */
export function isNetworkFailure(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 4; current = current.cause, depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return true;
    if (current.name === 'TimeoutError' || current.message === 'timeout') return true;
  }
  return false;
}

const SECRET_NAME = /^[A-Za-z0-9_.\-/]{1,256}$/;

/** Rejects names that could escape a directory or a path prefix ("..", absolute, odd characters). */
export function assertSecretName(name: string): void {
  if (!SECRET_NAME.test(name) || name.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new TypeError('a secret name is 1-256 characters of A-Z a-z 0-9 _ . - / without empty, "." or ".." segments');
  }
}
