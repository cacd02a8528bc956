import type { FastifyReply } from 'fastify';

/** The description of the symbol under which Fastify 5 keeps a reply's headers until it writes them. */
const STORE_SYMBOL_DESCRIPTION = 'fastify.reply.headers';

let storeSymbol: symbol | null | undefined;

/**
 * Fastify's own header object of a reply, or undefined when this Fastify keeps its headers
 * elsewhere. Adding a fixed table to it with one `Object.assign` costs about a third of what
 * `reply.headers()` costs (which lower-cases and stores each name one by one), measured in
 * instructions per request (bench/README.md); every response carries the security headers.
 * The symbol is found once, from the first reply, by its description.
 */
export function replyHeaderStore(reply: FastifyReply): Record<string, unknown> | undefined {
  if (storeSymbol === undefined) {
    storeSymbol = Object.getOwnPropertySymbols(reply).find((symbol) => symbol.description === STORE_SYMBOL_DESCRIPTION) ?? null;
  }
  if (storeSymbol === null) return undefined;
  const store: unknown = (reply as unknown as Record<symbol, unknown>)[storeSymbol];
  return typeof store === 'object' && store !== null ? (store as Record<string, unknown>) : undefined;
}

/**
 * Sets every header of a table whose names are already lower-case and none of which is
 * `set-cookie` (the two cases `reply.header()` treats specially): in one step where Fastify
 * allows it, else through `reply.headers()`.
 */
export function setLowerCaseHeaders(reply: FastifyReply, table: Readonly<Record<string, string>>): void {
  const store = replyHeaderStore(reply);
  if (store === undefined) reply.headers(table);
  else Object.assign(store, table);
}
