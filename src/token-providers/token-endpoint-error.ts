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
    // Status 0: no answer at all (network failure, timeout), so the message does not say "answered".
    const what = `${error}${errorDescription === undefined ? '' : `: ${errorDescription}`}`;
    super(status === 0 ? `no answer from the token endpoint: ${what}` : `token endpoint answered ${status} ${what}`);
    this.name = 'TokenEndpointError';
  }

  /** Client errors (bad credentials, bad scope) will not heal by retrying. */
  get retryable(): boolean {
    return this.status >= 500 || this.status === 429 || this.status === 0;
  }
}
