/**
 * A token endpoint refused or failed. `error` is the RFC 6749 §5.2 code when the server sent
 * one (`invalid_client`, `invalid_scope`, …); the client secret never appears here.
 */
export class TokenEndpointError extends Error {
  readonly code = 'token_endpoint_error';

  constructor(
    readonly status: number,
    readonly error: string,
    readonly errorDescription: string | undefined,
  ) {
    super(`token endpoint answered ${status} ${error}${errorDescription === undefined ? '' : `: ${errorDescription}`}`);
    this.name = 'TokenEndpointError';
  }

  /** Client errors (bad credentials, bad scope) will not heal by retrying. */
  get retryable(): boolean {
    return this.status >= 500 || this.status === 429 || this.status === 0;
  }
}
