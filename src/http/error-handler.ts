import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorObject } from 'ajv';
import { WardenError } from '../errors/index.js';
import { problem, sendProblem } from './problem.js';
import { describeValidationError } from './validation.js';

/** Maps Fastify's own error codes (parsing, limits) to Warden codes. */
const FASTIFY_CODES: Record<string, [code: Parameters<typeof problem>[0], detail: string]> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['unsupported_media_type', 'This endpoint accepts application/json only'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['invalid_request', 'Content-Length does not match the body'],
  FST_ERR_CTP_BODY_TOO_LARGE: ['payload_too_large', 'The request body exceeds the size limit'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['malformed_json', 'The body is empty but Content-Type says JSON'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['malformed_json', 'The request body is not valid JSON'],
  FST_ERR_BAD_URL: ['invalid_path', 'The request path is malformed'],
  FST_ERR_ASYNC_CONSTRAINT: ['invalid_request', 'The request could not be routed'],
};

/** Installs the problem+json error, 404 and 405 handlers. `hasOtherMethod` tells 405 from 404. */
export function installErrorHandlers(
  app: FastifyInstance,
  hasOtherMethod: (method: string, path: string) => string[],
): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
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
    if (mapped !== undefined) return sendProblem(reply, problem(mapped[0], mapped[1], { requestId }));
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
  });

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
