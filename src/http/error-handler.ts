import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorObject } from 'ajv';
import { WardenError } from '../errors/index.js';
import { problem, sendProblem } from './problem.js';
import { setLowerCaseHeaders } from './reply-header-store.js';
import { describeValidationError } from './validation.js';

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

/** Renders any error as problem+json: Warden's own with their code, Fastify's mapped, the rest a logged 500. */
function renderError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const requestId = request.id;
  if (error instanceof WardenError) {
    if (error.status >= 500) request.log.error({ err: error }, 'request failed');
    if (error.headers !== undefined) reply.headers(error.headers);
    return sendProblem(
      reply,
      problem(error.code, error.message, { status: error.status, requestId, fields: error.fields }),
    );
  }
  if (error.validation !== undefined) {
    const detail = describeValidationError(error.validation as ErrorObject[], error.validationContext ?? 'request');
    return sendProblem(reply, problem('validation_failed', detail, { requestId }));
  }
  const mapped = error.code === undefined ? undefined : FASTIFY_CODES[error.code];
  if (mapped !== undefined) {
    const [code, detail, status] = mapped;
    return sendProblem(reply, problem(code, detail, status === undefined ? { requestId } : { status, requestId }));
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
  // Anything else is a bug or an outage: the details go to the log, never to the client.
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
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      return sendProblem(
        reply,
        problem('method_not_allowed', `${request.method} is not allowed on ${path}; use ${allowed.join(', ')}`, {
          requestId: request.id,
        }),
      );
    }
    return sendProblem(reply, problem('not_found', `No route matches ${request.method} ${path}`, { requestId: request.id }));
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
