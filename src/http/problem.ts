import type { FastifyReply } from 'fastify';
import { ERROR_CODES, type ErrorCode, type ErrorFields } from '../errors/index.js';

/** An RFC 9457 problem document with Warden's stable `code`. */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  request_id?: string;
  [field: string]: unknown;
}

/** Builds the problem document for a code; `fields` are structured, secret-free extras. */
export function problem(
  code: ErrorCode,
  detail: string,
  options: { status?: number; requestId?: string; fields?: ErrorFields } = {},
): ProblemDocument {
  const entry = ERROR_CODES[code];
  const doc: ProblemDocument = {
    type: `https://warden.dev/problems/${code.replace(/_/g, '-')}`,
    title: entry.title,
    status: options.status ?? entry.status,
    detail,
    code,
  };
  if (options.fields !== undefined) {
    for (const [key, value] of Object.entries(options.fields)) {
      if (value !== undefined && !(key in doc)) doc[key] = value;
    }
  }
  if (options.requestId !== undefined) doc.request_id = options.requestId;
  return doc;
}

/** Sends a problem+json response. */
export function sendProblem(reply: FastifyReply, doc: ProblemDocument): FastifyReply {
  return reply.code(doc.status).type('application/problem+json; charset=utf-8').send(doc);
}
