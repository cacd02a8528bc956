import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorObject } from 'ajv';
import { WardenError } from '../errors/index.js';
import { redactText } from '../redact/index.js';
import { headerBlock } from './header-block-response.js';
import { problem, sendProblem } from './problem.js';
import { setLowerCaseHeaders } from './reply-header-store.js';
import { describeMissingBody, describeValidationError, validationField } from './validation.js';
import { isDatabaseOutage } from '../storage/storage-unavailable.js';

/** Maps Fastify's own error codes (parsing, limits, routing) to Warden codes. */
const FASTIFY_CODES: Record<string, [code: Parameters<typeof problem>[0], detail: string, status?: number]> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['unsupported_media_type', 'This endpoint accepts application/json only'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['invalid_request', 'Content-Length does not match the body'],
  FST_ERR_CTP_BODY_TOO_LARGE: ['payload_too_large', 'The request body exceeds the size limit'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['malformed_json', 'The body is empty but Content-Type says JSON'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['malformed_json', 'The request body is not valid JSON'],
  FST_ERR_BAD_URL: ['invalid_path', 'The request path is malformed'],
  FST_ERR_MAX_PARAM_LENGTH: ['invalid_path', 'A path parameter exceeds the length limit', 414],
  FST_ERR_ASYNC_CONSTRAINT: ['invalid_request', 'The request could not be routed'],
};

// PostgreSQL refuses text it cannot store: a NUL character (22021, character_not_in_repertoire)
// and, in a database whose encoding is not UTF-8, characters that encoding lacks (22P05,
// untranslatable_character). Either comes from what the client sent, wherever in the request
// it was, so it is the client's 400, not a 500. Only the database's own error is mapped: a
// WardenError that wraps one (the audit log's, for a batch holding other requests' events too)
// keeps its own code.
const UNSTORABLE_TEXT_SQLSTATES: ReadonlySet<string> = new Set(['22021', '22P05']);

/** True for the database's refusal of text it cannot store (a NUL character, an untranslatable one): the client's fault. */
export function isUnstorableText(error: { code?: unknown }): boolean {
  return typeof error.code === 'string' && UNSTORABLE_TEXT_SQLSTATES.has(error.code);
}

/** When each app last logged a 503 `service_unavailable`, by its HTTP server (which every plugin scope shares). */
const lastUnavailableLine = new WeakMap<object, number>();
const UNAVAILABLE_LOG_INTERVAL_MS = 10_000;

/**
 * An outage of a dependency (Redis, the database) answers every request with 503: a line per
 * request, with its stack, would bury the log (and cost the disk) for as long as it lasts. One
 * warning per 10 s says what is unavailable and why; the component that failed logs its own.
 */
function logUnavailable(error: WardenError, request: FastifyRequest): void {
  const at = Date.now();
  const app = request.server.server;
  if (at - (lastUnavailableLine.get(app) ?? Number.NEGATIVE_INFINITY) < UNAVAILABLE_LOG_INTERVAL_MS) return;
  lastUnavailableLine.set(app, at);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  request.log.warn({ code: error.code, detail: error.message, ...(cause === undefined ? {} : { cause }) }, 'answering 503: a dependency is unavailable (logged at most every 10 s)');
}

/**
 * An error's RateLimit-Policy / RateLimit items are added to those already on the reply (the
 * per-IP plan's, set before authentication refused a key over its own limit), as the headers
 * list every policy that applies; the limiter's own 429 already lists them.
 */
function withListedPolicies(headers: Readonly<Record<string, string>>, reply: FastifyReply): Record<string, string> {
  const merged = { ...headers };
  for (const name of ['ratelimit-policy', 'ratelimit']) {
    const before = reply.getHeader(name);
    const added = merged[name];
    if (added !== undefined && typeof before === 'string' && before !== '' && !added.startsWith(before)) merged[name] = `${before}, ${added}`;
  }
  return merged;
}

/** Renders any error as problem+json: Warden's own with their code, Fastify's mapped, the rest a logged 500. */
export function renderError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const requestId = request.id;
  if (error instanceof WardenError) {
    // Every 503 (a dependency down, shutting down) is an outage: a throttled warn line, no stack.
    if (error.status === 503) logUnavailable(error, request);
    else if (error.status >= 500) request.log.error({ err: error }, 'request failed');
    if (error.headers !== undefined) reply.headers(withListedPolicies(error.headers, reply));
    // A 500 is the server's own fault (e.g. a stored value it cannot decrypt): its message names
    // internals (settings, key ids) that belong in the log, which has it, not in the answer.
    const detail = error.status === 500 ? `An unexpected error occurred; quote request id ${requestId} when reporting it` : error.message;
    return sendProblem(reply, problem(error.code, detail, { status: error.status, requestId, ...(error.status === 500 ? {} : { fields: error.fields }) }));
  }
  if (error.validation !== undefined) {
    const errors = error.validation as ErrorObject[];
    // No body at all (none sent, or an empty one with a JSON content type): say that it is missing.
    const part = error.validationContext ?? 'request';
    if (error.validationContext === 'body' && request.body === undefined) {
      return sendProblem(reply, problem('validation_failed', describeMissingBody(errors), { requestId }));
    }
    // `field` as the domain's own validation errors carry it, so clients can branch on it.
    return sendProblem(reply, problem('validation_failed', describeValidationError(errors, part), { requestId, fields: { field: validationField(errors, part) } }));
  }
  const mapped = error.code === undefined ? undefined : FASTIFY_CODES[error.code];
  if (mapped !== undefined) {
    const [code, detail, status] = mapped;
    return sendProblem(reply, problem(code, detail, status === undefined ? { requestId } : { status, requestId }));
  }
  if (isUnstorableText(error)) {
    // The database's message names the offending bytes; the value itself is never echoed.
    return sendProblem(
      reply,
      problem('validation_failed', 'The request contains a NUL character or text the database cannot store', { requestId }),
    );
  }
  if (error instanceof SyntaxError || error.statusCode === 400) {
    return sendProblem(reply, problem('invalid_request', 'The request could not be parsed', { requestId }));
  }
  if (error.statusCode === 413) {
    return sendProblem(reply, problem('payload_too_large', 'The request body exceeds the size limit', { requestId }));
  }
  if (error.statusCode === 415) {
    return sendProblem(reply, problem('unsupported_media_type', 'This content type is not supported here', { requestId }));
  }
  // The database went away mid-request (a refused or dropped connection, a server shutting
  // down): an outage, answered like one (503, Retry-After, a throttled warn line), not as a bug
  // that clients and alerting would take for a 500.
  if (isDatabaseOutage(error)) {
    const outage = new WardenError('storage_unavailable', 'The database is temporarily unreachable; retry later', { cause: error, headers: { 'retry-after': '1' } });
    return renderError(outage as unknown as FastifyError, request, reply);
  }
  // Anything else is a bug: the details go to the log, never to the client.
  request.log.error({ err: error }, 'unhandled error');
  return sendProblem(
    reply,
    problem('internal_error', `An unexpected error occurred; quote request id ${requestId} when reporting it`, {
      requestId,
    }),
  );
}

/** Installs the problem+json error, 404 and 405 handlers. `hasOtherMethod` tells 405 from 404. */
export function installErrorHandlers(
  app: FastifyInstance,
  hasOtherMethod: (method: string, path: string) => string[],
): void {
  app.setErrorHandler(renderError);

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = hasOtherMethod(request.method, path);
    // A key or token put in the path (`/v1/keys/verify/wdn_…`) must not come back in the answer.
    const shown = redactText(path);
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      return sendProblem(
        reply,
        problem('method_not_allowed', `${request.method} is not allowed on ${shown}; use ${allowed.join(', ')}`, {
          requestId: request.id,
        }),
      );
    }
    return sendProblem(reply, problem('not_found', `No route matches ${request.method} ${shown}`, { requestId: request.id }));
  });
}

/**
 * Fastify's `frameworkErrors` handler. Fastify refuses a malformed path (FST_ERR_BAD_URL), an
 * over-long path parameter (FST_ERR_MAX_PARAM_LENGTH) and a failed async constraint before
 * routing, so no hook runs and by default its own JSON goes out with no security headers and
 * no X-Request-Id. This gives them what the hardening hook gives every other response, and
 * Warden's problem+json. HSTS is left out: Fastify builds this request without the trust-proxy
 * view, so a proxy's X-Forwarded-Proto cannot be verified here (browsers keep the policy
 * learned from every other response).
 */
export function frameworkErrorHandler(
  headers: Readonly<Record<string, string>>,
): (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => FastifyReply {
  return (error, request, reply) => {
    setLowerCaseHeaders(reply, headers);
    reply.header('x-request-id', request.id);
    return renderError(error, request, reply);
  };
}

/** What Node's parser reports in a `clientError` event (Fastify's `ConnectionError`, narrowed). */
interface ClientError extends Error {
  readonly code?: string;
}

// The parts of a ServerResponse in progress on a socket that decide whether bytes may still be
// written there; Node keeps it on the socket as `_httpMessage` and decides the same way.
interface InFlightResponse {
  readonly _headerSent?: boolean;
}

/** The code, status and detail for a parse error, by Node's error code (as Node itself picks the status). */
function clientErrorAnswer(nodeCode: string | undefined): [code: Parameters<typeof problem>[0], status: number, detail: string] {
  switch (nodeCode) {
    case 'HPE_HEADER_OVERFLOW':
      return ['request_headers_too_large', 431, 'The request headers exceed the size limit'];
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return ['payload_too_large', 413, 'The chunk extensions of the request body exceed the size limit'];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return ['request_timeout', 408, 'The request did not arrive in time'];
    default:
      return ['invalid_request', 400, 'The request is not well-formed HTTP'];
  }
}

/**
 * Fastify's `clientErrorHandler`. Node's HTTP parser refuses some requests before Fastify sees
 * them (Content-Length with Transfer-Encoding, a control character in a header or the path,
 * headers over the size limit, a request too slow to arrive), and Fastify's own answer is JSON
 * without the security headers. This one is a problem+json `invalid_request` (400;
 * `request_headers_too_large` 431, `request_timeout` 408, `payload_too_large` 413 for oversized
 * chunk extensions) with the fixed headers, a fresh request id and
 * `Connection: close`, written straight to the socket, which is then destroyed: the parser
 * cannot resume after the error. Nothing of the refused bytes is echoed or logged above debug
 * (anyone can send them). HSTS is left out, as in `frameworkErrorHandler`.
 */
/**
 * Node's `checkExpectation` listener: a request whose `Expect` is not `100-continue` is answered
 * by Node itself, with an empty 417. This one is problem+json `expectation_failed` with the
 * security headers and a fresh request id, like every other error answer; the route never runs.
 */
export function expectationFailedHandler(headers: Readonly<Record<string, string>>, headersInBlock: boolean): (request: IncomingMessage, response: ServerResponse) => void {
  return (_request, response) => {
    const requestId = randomUUID();
    const body = JSON.stringify(problem('expectation_failed', 'Only "Expect: 100-continue" is supported', { requestId }));
    // The header block response class writes the security headers itself; otherwise they go here.
    if (!headersInBlock) for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
    response.writeHead(417, {
      'x-request-id': requestId,
      'content-type': 'application/problem+json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      connection: 'close',
    });
    response.end(body);
  };
}

export function clientErrorHandler(
  headers: Readonly<Record<string, string>>,
  log: Pick<FastifyBaseLogger, 'debug'>,
): (error: ClientError, socket: Socket) => void {
  const fixed = headerBlock(headers);
  return (error, socket) => {
    // A reset connection has no one to answer (Node reports it here too).
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const [code, status, detail] = clientErrorAnswer(error.code);
    const requestId = randomUUID();
    log.debug({ err: error, request_id: requestId }, 'client error');
    // Bytes written into a response already under way on this socket would corrupt it.
    const inFlight = (socket as unknown as { _httpMessage?: InFlightResponse | null })._httpMessage;
    if (socket.writable && (inFlight === undefined || inFlight === null || inFlight._headerSent !== true)) {
      const body = JSON.stringify(problem(code, detail, { status, requestId }));
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${fixed}x-request-id: ${requestId}\r\n` +
          `content-type: application/problem+json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
          `connection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy(error);
  };
}
