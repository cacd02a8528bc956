import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { WardenError } from '../errors/index.js';

/** The charset parameter of a Content-Type (RFC 9110 §8.3.2), quoted or not. */
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)/i;

/** How Fastify's parsers report their result (its `ContentTypeParserDoneFunction`, not exported). */
type ParserDone = (error: Error | null, body?: unknown) => void;

/**
 * Replaces the app's `application/json` parser with one that reads an empty body as no body
 * (`request.body` undefined), as if no Content-Type had been sent. Many HTTP clients send
 * `Content-Type: application/json` on every request, an empty POST included, and Fastify's
 * parser refuses that as malformed JSON, even on routes whose body is optional. A route whose
 * schema requires a body still refuses it, as it refuses a request with no body at all.
 *
 * A body that is not UTF-8 is refused (400 malformed_json) rather than stored with its bad
 * bytes replaced. Everything else is Fastify's own parser: secure-json-parse refusing `__proto__` and
 * `constructor.prototype` keys (explicitly 'error', whatever the app's defaults), the app's body
 * limit, and Fastify's errors (malformed JSON, too large), which the error handler maps.
 */
export function installJsonBodyParser(app: FastifyInstance): void {
  // The 'error' actions make a poisoned key a parse error (400 malformed_json), as Fastify's default
  // does. Typed as the union of the callback and promise forms; this one is the callback form.
  const parse = app.getDefaultJsonParser('error', 'error') as (request: FastifyRequest, body: string, done: ParserDone) => void;
  app.removeContentTypeParser('application/json');
  // parseAs 'buffer' and no bodyLimit of its own: Fastify then applies the app's bodyLimit, as to its own parser.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    // Only zero bytes count as absent: whitespace is a body, and not JSON.
    if (body.length === 0) {
      done(null, undefined);
      return;
    }
    // JSON is UTF-8 (RFC 8259 §8.1): a body declared in another charset is one this server does
    // not read (415), not broken JSON.
    const charset = CHARSET.exec(request.headers['content-type'] ?? '')?.[1]?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      done(new WardenError('unsupported_media_type', `JSON bodies are UTF-8; charset=${charset.slice(0, 40)} is not supported`));
      return;
    }
    // A Buffer: parseAs 'buffer' above (Fastify's types do not narrow the body by it).
    const bytes = body as Buffer;
    const text = bytes.toString('utf8');
    // JSON is UTF-8 (RFC 8259 §8.1). Decoding replaces invalid bytes with U+FFFD, which would
    // then be stored as if sent; the full check runs only when a replacement character appears.
    if (text.includes('\uFFFD') && !isUtf8(bytes)) {
      done(new WardenError('malformed_json', 'The request body is not valid UTF-8'));
      return;
    }
    // Valid UTF-8 can still escape half a surrogate pair (`"\ud800"`): a string no database
    // stores as sent (PostgreSQL keeps U+FFFD, SQLite the raw bytes), so what was checked and
    // answered would differ from what is read back. Only a body with an escape can hold one.
    if (!text.includes('\\u')) {
      parse(request, text, done);
      return;
    }
    parse(request, text, (error, value) => {
      if (error === null && !isWellFormedJson(value)) done(new WardenError('malformed_json', 'The request body holds an unpaired UTF-16 surrogate escape'));
      else done(error, value);
    });
  });
}

// Node 20 has String.prototype.isWellFormed, but the project's lib (ES2023) does not declare it.
const isWellFormed = (String.prototype as unknown as { isWellFormed(this: string): boolean }).isWellFormed;

/**
 * Whether every string in a parsed JSON value, keys included, is well-formed UTF-16. Iterative:
 * a body nested tens of thousands deep fits the body limit and would overflow a recursion.
 */
function isWellFormedJson(root: unknown): boolean {
  const pending: unknown[] = [root];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === 'string') {
      if (!isWellFormed.call(value)) return false;
    } else if (Array.isArray(value)) {
      for (const item of value) pending.push(item);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        if (!isWellFormed.call(key)) return false;
        pending.push(item);
      }
    }
  }
  return true;
}
