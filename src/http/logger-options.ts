import type { LoggerOptions } from 'pino';
import { createRedactor, type RedactorOptions } from '../redact/index.js';
import { isSensitiveKey, REDACTED } from '../redact/sensitive-keys.js';

// The request line's `ip` is an operational field (abuse investigations, rate limits) and is
// kept; IP addresses inside messages and other fields are still redacted.
const LOG_VERBATIM_KEYS = ['ip'];
const defaultLogRedactor = createRedactor({ verbatimKeys: LOG_VERBATIM_KEYS });

/**
 * Deep copy of a log object through the redaction engine (src/redact): sensitive keys at any
 * depth, and secrets or PII inside string values (emails, tokens, card numbers, addresses…).
 */
export function redactLogValue(value: unknown): unknown {
  return defaultLogRedactor.redactValue(value);
}

/** Removes sensitive query-string values from a URL path before it is logged. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  for (const key of [...params.keys()]) if (isSensitiveKey(key)) params.set(key, REDACTED);
  return `${url.slice(0, q)}?${params.toString()}`;
}

export interface LoggerOptionsExtras {
  /** Receives every serialized line at error level or above (feeds the recent-error ring). */
  readonly onErrorLine?: (line: string) => void;
  /** Allow/deny lists and disabled patterns (WARDEN_REDACT_*). @default the engine's defaults */
  readonly redaction?: Omit<RedactorOptions, 'verbatimKeys'>;
}

/**
 * pino options for the service: headers carrying credentials are removed by path, and every
 * log object goes through the redaction engine so a secret in a nested field never lands.
 */
export function loggerOptions(level: string, extras: LoggerOptionsExtras = {}): LoggerOptions {
  const onErrorLine = extras.onErrorLine;
  const logRedactor =
    extras.redaction === undefined
      ? defaultLogRedactor
      : createRedactor({ ...extras.redaction, verbatimKeys: LOG_VERBATIM_KEYS });
  return {
    level,
    base: { service: 'warden' },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["x-api-key"]',
        'res.headers["set-cookie"]',
        'headers.authorization',
        'headers.cookie',
        'headers["x-api-key"]',
      ],
      censor: REDACTED,
    },
    formatters: {
      log: (object) => logRedactor.redactValue(object) as Record<string, unknown>,
    },
    // The formatter above already turned errors into redacted plain objects (type, message,
    // stack, code, cause); pino's default serializer would rename their type to "Object".
    serializers: { err: (value: unknown): unknown => value },
    hooks: {
      // Messages and interpolation arguments do not pass through formatters.log: redact them here.
      logMethod(args, method) {
        const redacted = args.map((arg, index) =>
          typeof arg === 'string'
            ? logRedactor.redactText(arg)
            : index === 0
              ? arg
              : logRedactor.redactValue(arg),
        ) as Parameters<typeof method>;
        method.apply(this, redacted);
      },
      ...(onErrorLine === undefined
        ? {}
        : {
            streamWrite: (line: string): string => {
              // pino serializes `{"level":NN,…` first; 50 = error, 60 = fatal.
              if (line.startsWith('{"level":50') || line.startsWith('{"level":60')) onErrorLine(line);
              return line;
            },
          }),
    },
  };
}
