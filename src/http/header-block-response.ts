import { ServerResponse, validateHeaderName, validateHeaderValue } from 'node:http';

/**
 * Set on the prototype of a response class that writes the fixed headers itself. The hardening
 * hook then sets none of its own, so such a class must be made from the same table
 * (`hardeningHeaders`), as `buildApp` does.
 */
export const WRITES_SECURITY_HEADERS: unique symbol = Symbol('warden.writesSecurityHeaders');

/** The response class `http.createServer({ ServerResponse })` accepts. */
export type ServerResponseClass = typeof ServerResponse;

// Node's own header writer; not in its public API, hence the feature test below.
interface HeaderWriter {
  _storeHeader(firstLine: string, headers: unknown): void;
}

/**
 * A header table as the lines of a response head (`name: value\r\n` each), validated as Node
 * validates headers: the one serialisation of the fixed headers for everything that writes a
 * response head itself (this response class, the client-error handler's raw answers).
 */
export function headerBlock(table: Readonly<Record<string, string>>): string {
  let block = '';
  for (const [name, value] of Object.entries(table)) {
    if (name !== name.toLowerCase()) throw new TypeError(`header block name ${name} must be lower-case`);
    validateHeaderName(name);
    validateHeaderValue(name, value);
    block += `${name}: ${value}\r\n`;
  }
  return block;
}

/**
 * A ServerResponse that writes a fixed header table into every response head itself, as one
 * block validated once at start-up. Node validates and serialises every header of every
 * response one by one, and that is nearly all of what the headers cost: for Warden's eight,
 * bare Fastify goes from about 81–83k instructions per request without them to 105k with them
 * set per request, and 81k with them as a block (bench/README.md, "Session 9").
 *
 * A header the response sets itself (a route's own CSP, the framework-error handler) wins:
 * the block is then written without it, so a name never appears twice. Returns undefined when
 * this Node has no `_storeHeader` to hook (callers then set the table per request).
 */
export function headerBlockResponse(table: Readonly<Record<string, string>>): ServerResponseClass | undefined {
  const base = ServerResponse.prototype as unknown as Partial<HeaderWriter>;
  if (typeof base._storeHeader !== 'function' || base._storeHeader.length !== 2) return undefined;
  const names = Object.keys(table);
  const block = headerBlock(table);
  const lineOf = (name: string): string => `${name}: ${table[name] ?? ''}\r\n`;

  /** The block without the headers `headers` sets itself (the rare path). */
  const blockFor = (headers: unknown): string => {
    if (headers === null || typeof headers !== 'object') return block;
    if (Array.isArray(headers)) {
      // writeHead(status, [name, value, …]) or [[name, value], …]: names in any case.
      const flat = (headers as unknown[]).flat();
      const own = new Set<string>();
      for (let i = 0; i < flat.length; i += 2) own.add(String(flat[i]).toLowerCase());
      return names.filter((name) => !own.has(name)).map(lineOf).join('');
    }
    // Fastify's reply headers and Node's own header map both key by lower-case name.
    const record = headers as Record<string, unknown>;
    let overridden = false;
    for (const name of names) if (record[name] !== undefined) overridden = true;
    return overridden ? names.filter((name) => record[name] === undefined).map(lineOf).join('') : block;
  };

  class HeaderBlockResponse extends ServerResponse {}
  const writer = HeaderBlockResponse.prototype as unknown as HeaderWriter & Record<symbol, unknown>;
  const storeHeader = base._storeHeader;
  writer._storeHeader = function storeHeaderWithBlock(this: HeaderWriter, firstLine: string, headers: unknown): void {
    // The status line comes first and every header line after it, in any order.
    storeHeader.call(this, firstLine + blockFor(headers), headers);
  };
  writer[WRITES_SECURITY_HEADERS] = true;
  // The subclass adds no constructor of its own; Node's typing of the option is generic over the request type.
  return HeaderBlockResponse as ServerResponseClass;
}
