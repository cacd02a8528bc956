import pino, { type Bindings, type ChildLoggerOptions, type Logger, type LoggerOptions } from 'pino';
import { createRedactor, type Redactor, type RedactorOptions } from '../redact/index.js';
import { isSensitiveKey, REDACTED } from '../redact/sensitive-keys.js';

/**
 * The log field that holds an address this server listens on (`listenAndLogAddress`): the
 * server's own address, not personal data, and what the operator needs to reach it.
 */
export const LISTEN_URL_LOG_KEY = 'listen_url';

// The request line's `ip` is an operational field (abuse investigations, rate limits) and is
// kept, as is the server's own listening address; IP addresses inside messages and other
// fields are still redacted.
const LOG_VERBATIM_KEYS = ['ip', LISTEN_URL_LOG_KEY];
const defaultLogRedactor = createRedactor({ verbatimKeys: LOG_VERBATIM_KEYS });
const { chindingsSym } = pino.symbols;

/**
 * Deep copy of a log object through the redaction engine (src/redact): sensitive keys at any
 * depth, and secrets or PII inside string values (emails, tokens, card numbers, addresses…).
 */
export function redactLogValue(value: unknown): unknown {
  return defaultLogRedactor.redactValue(value);
}

/**
 * Removes sensitive query-string values from a URL path before it is logged. Every other pair
 * is kept byte for byte: re-encoding it (`@` → `%40`) would hide an e-mail address or a URL's
 * credentials from the value patterns the log line goes through next.
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const pairs = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawKey = eq === -1 ? pair : pair.slice(0, eq);
      return isSensitiveKey(decodedQueryKey(rawKey)) ? `${rawKey}=${REDACTED}` : pair;
    });
  return `${url.slice(0, q)}?${pairs.join('&')}`;
}

/**
 * A query key as a lenient reader (URLSearchParams) reads it: `+` is a space and every run of
 * valid %XX escapes is decoded, a malformed escape (`%ZZ`) kept as sent, so that
 * `pass%77ord%ZZ` still reads as the sensitive `password%ZZ`.
 */
function decodedQueryKey(raw: string): string {
  return raw.replaceAll('+', ' ').replace(/(?:%[0-9A-Fa-f]{2})+/g, (escapes) => {
    try {
      return decodeURIComponent(escapes);
    } catch {
      return escapes;
    }
  });
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
      log: (object) => {
        // A value whose reading throws (a getter, a revoked proxy) must neither reach the log
        // unredacted nor turn the log call into an exception its caller never expects.
        try {
          return logRedactor.redactValue(object) as Record<string, unknown>;
        } catch {
          return { redaction_failed: true };
        }
      },
    },
    // The formatter above already turned errors into redacted plain objects (type, message,
    // stack, code, cause); pino's default serializer would rename their type to "Object".
    serializers: { err: (value: unknown): unknown => value },
    // A child's bindings are serialized once, when it is made, and never pass formatters.log
    // (pino applies formatters.bindings to the root's bindings only).
    onChild: childBindingsRedactor(logRedactor),
    hooks: {
      // Messages and interpolation arguments do not pass through formatters.log: redact them here.
      logMethod(args, method) {
        let redacted: Parameters<typeof method>;
        try {
          redacted = args.map((arg, index) =>
            typeof arg === 'string'
              ? logRedactor.redactText(arg)
              : index === 0
                ? arg
                : logRedactor.redactValue(arg),
          ) as Parameters<typeof method>;
          // Without a message, pino copies the error's own message into msg after this hook and
          // past formatters.log (`log.error(err)`, `log.error({err})`, as Fastify logs some of
          // its errors): the message is supplied here, redacted, so pino has none to copy.
          if (args[1] === undefined) {
            const message = errorMessageOf(args[0]);
            if (message !== undefined) {
              (redacted as unknown[])[1] = typeof message === 'string' ? logRedactor.redactText(message) : logRedactor.redactValue(message);
            }
          }
        } catch {
          // As in formatters.log: the line says its content was dropped, and the call returns.
          redacted = [{ redaction_failed: true }, 'log line dropped: redacting it failed'] as unknown as Parameters<typeof method>;
        }
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

/**
 * The message pino would copy into `msg` from a log call's first argument, as pino decides it
 * (`lib/proto.js` write): an Error's message, or `err.message` of an object with no `msg`.
 */
function errorMessageOf(first: unknown): unknown {
  if (typeof first !== 'object' || first === null) return undefined;
  if (first instanceof Error) return first.message;
  const { msg, err } = first as { msg?: unknown; err?: unknown };
  // `err` may be any value; pino reads `.message` off whatever is truthy (a string has none).
  return msg === undefined && Boolean(err) ? (err as { message?: unknown }).message : undefined;
}

// Handed from `childOf` to the onChild hook: the bindings object of the child being made, which
// the hook can then check as it was given instead of parsing pino's serialized copy back.
let bindingsInTransit: Bindings | undefined;

/**
 * `parent.child(bindings, options)` for callers that make a child per request (`lazyLogger`):
 * the service logger's onChild then sees `bindings` as given, and a child that binds only a
 * generated request id costs no parse and no pattern scan.
 */
export function childOf(parent: Logger, bindings: Bindings, options?: ChildLoggerOptions): Logger {
  // A child's own serializers may turn a binding into something else before pino writes it.
  bindingsInTransit = options?.serializers === undefined ? bindings : undefined;
  try {
    return parent.child(bindings, options);
  } finally {
    bindingsInTransit = undefined;
  }
}

const SAMPLE_UUID = '00000000-0000-4000-8000-000000000000';
const UUID_KEYS_KEPT = 64;

// A lower-case hex UUID, what `randomUUID()` makes (faster as one regex than a char loop).
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * pino's `onChild`: redacts the bindings a child adds to its parent's (`log.child({ password })`).
 * pino keeps them as a serialized fragment, the parent's followed by the child's own; only the
 * child's part is parsed, redacted and written back. A fragment that is not the parent's plus
 * JSON members (a pino release that stores bindings otherwise) is dropped: fail closed.
 *
 * Logging a request line makes one child per request (Fastify binds the request id), and that
 * full pass costs about as much as the line itself. So a child made through `childOf` that
 * binds one UUID under a name the redactor keeps (the request id Warden generated) is let
 * through: a UUID holds nothing any pattern redacts.
 */
function childBindingsRedactor(redactor: Redactor): (child: Logger) => void {
  const uuidKeptUnder = new Map<string, boolean>();
  /** The bindings are one UUID under a name whose UUID value the redactor leaves alone. */
  const isKeptUuid = (bindings: Bindings): boolean => {
    let key: string | undefined;
    for (const name in bindings) {
      if (key !== undefined) return false;
      key = name;
    }
    if (key === undefined) return false;
    const value: unknown = bindings[key];
    if (typeof value !== 'string' || !UUID.test(value)) return false;
    let kept = uuidKeptUnder.get(key);
    if (kept === undefined) {
      const sample = { [key]: SAMPLE_UUID };
      kept = JSON.stringify(redactor.redactValue(sample)) === JSON.stringify(sample);
      if (uuidKeptUnder.size >= UUID_KEYS_KEPT) uuidKeptUnder.clear();
      uuidKeptUnder.set(key, kept);
    }
    return kept;
  };
  return (child) => {
    const given = bindingsInTransit;
    bindingsInTransit = undefined;
    if (given !== undefined && isKeptUuid(given)) return;
    const holder = child as unknown as Record<symbol, unknown>;
    const own = holder[chindingsSym];
    const inherited = (Object.getPrototypeOf(child) as Record<symbol, unknown>)[chindingsSym];
    if (typeof own !== 'string' || typeof inherited !== 'string' || own === inherited) return;
    let bindings: unknown;
    try {
      if (!own.startsWith(inherited) || own[inherited.length] !== ',') throw new TypeError('unexpected bindings');
      bindings = JSON.parse(`{${own.slice(inherited.length + 1)}}`);
    } catch {
      holder[chindingsSym] = inherited;
      return;
    }
    const text = JSON.stringify(redactor.redactValue(bindings));
    const redacted = text.length > 2 ? `,${text.slice(1, -1)}` : '';
    if (redacted !== own.slice(inherited.length)) holder[chindingsSym] = inherited + redacted;
  };
}
