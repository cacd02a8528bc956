import { ERROR_CODES, type ErrorCode } from './error-codes.js';

/** Structured, non-secret facts about an error that may be shown to the caller. */
export type ErrorFields = Record<string, string | number | boolean | readonly string[] | undefined>;

export interface WardenErrorOptions {
  /** Underlying error; logged, never sent to a client. */
  cause?: unknown;
  /** Structured facts safe to show to the caller (never secrets). */
  fields?: ErrorFields;
  /** Overrides the registry's status, e.g. 404 for a missing route vs. a missing record. */
  status?: number;
  /** Extra response headers, e.g. Retry-After. */
  headers?: Record<string, string>;
}

/**
 * Base class of every error Warden throws on purpose. `code` is stable and documented;
 * `message` is a precise, secret-free sentence that may be shown to the caller.
 */
export class WardenError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly fields: ErrorFields | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, message?: string, options: WardenErrorOptions = {}) {
    super(message ?? ERROR_CODES[code].title, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = options.status ?? ERROR_CODES[code].status;
    this.fields = options.fields;
    this.headers = options.headers;
  }
}

/** Invalid configuration; `problems` holds one line per problem. */
export class ConfigError extends WardenError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super('config_invalid', problems.join('\n'));
    this.problems = Object.freeze([...problems]);
  }
}

/** Input that failed validation; the message names the field and the reason. */
export class ValidationError extends WardenError {
  constructor(message: string, fields?: ErrorFields) {
    super('validation_failed', message, { fields });
  }
}

/** A record that does not exist. */
export class NotFoundError extends WardenError {
  constructor(what: string) {
    super('not_found', `${what} was not found`);
  }
}

/**
 * Re-enabling an API key that someone managing its owner disabled, by a caller without that
 * authority (typically the owner): such a disable must stick until an administrator lifts it.
 */
export class KeyLockedError extends WardenError {
  constructor() {
    super('key_locked', "This API key was disabled by an administrator; only someone who manages its owner's keys (users:write) can re-enable it", {
      fields: { permission: 'users:write' },
    });
  }
}

const AMBIGUITY_DETAILS = {
  both_headers: 'The request carries both an X-API-Key and an Authorization header; send exactly one credential',
  repeated_api_key: 'The request carries more than one X-API-Key header; send exactly one credential',
  repeated_authorization: 'The request carries more than one Authorization header; send exactly one credential',
} as const;

/**
 * A request carrying two credentials (`X-API-Key` and `Authorization`, or either header twice):
 * which one should act is not for the server to guess, so neither does.
 */
export class AmbiguousCredentialsError extends WardenError {
  constructor(which: keyof typeof AMBIGUITY_DETAILS) {
    super('ambiguous_credentials', AMBIGUITY_DETAILS[which]);
  }
}
