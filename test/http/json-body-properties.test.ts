import fc from 'fast-check';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WardenError } from '../../src/errors/index.js';
import { installJsonBodyParser } from '../../src/http/json-body.js';
import { nestsWithin } from '../../src/http/json-depth.js';

// Properties of JSON request bodies: 400 exactly when a key or string holds a lone surrogate,
// otherwise the value arrives intact; random bytes under any charset never give a 5xx; the
// depth check agrees with a recursive count.

describe('JSON request bodies', () => {
  const app = Fastify();
  beforeAll(async () => {
    installJsonBodyParser(app);
    app.setErrorHandler((error, _req, reply) =>
      error instanceof WardenError
        ? reply.code(error.status).send({ code: error.code })
        : reply.code((error as { statusCode?: number }).statusCode ?? 500).send({}),
    );
    app.post('/echo', async (request) => ({ body: request.body ?? null }));
    await app.ready();
  });
  afterAll(() => app.close());

  it('400 exactly when a string or key holds a lone surrogate; otherwise the value arrives intact; never 5xx', async () => {
    const str = fc.string({
      maxLength: 4,
      unit: fc.constantFrom('a', '\ud800', '\udc00', '\ud83d\ude00', '"', '\\', 'é'),
    });
    const json = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        str,
        fc.integer(),
        fc.array(tie('v'), { maxLength: 3 }),
        fc.dictionary(str, tie('v'), { maxKeys: 3 }),
      ),
    })).v;
    const wellFormed = (x: string) => (x as unknown as { isWellFormed(): boolean }).isWellFormed();
    await fc.assert(
      fc.asyncProperty(json, async (value) => {
        const strings: string[] = [];
        const walk = (v: unknown): void => {
          if (typeof v === 'string') strings.push(v);
          else if (Array.isArray(v)) v.forEach(walk);
          else if (v !== null && typeof v === 'object') {
            for (const [k, x] of Object.entries(v)) {
              strings.push(k);
              walk(x);
            }
          }
        };
        walk(value);
        const text = JSON.stringify(value);
        const res = await app.inject({
          method: 'POST',
          url: '/echo',
          headers: { 'content-type': 'application/json' },
          payload: text,
        });
        expect(res.statusCode === 400).toBe(!strings.every(wellFormed));
        if (res.statusCode === 200) expect(JSON.parse(res.body).body).toEqual(JSON.parse(text));
      }),
      { numRuns: 200 },
    );
  });

  it('random bytes under any charset never give 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 30 }),
        fc.constantFrom(
          'application/json',
          'application/json; charset="UTF-8"',
          'application/json;charset=latin1',
          'application/json; charset=',
        ),
        async (bytes, ct) => {
          const res = await app.inject({
            method: 'POST',
            url: '/echo',
            headers: { 'content-type': ct },
            payload: Buffer.from(bytes),
          });
          expect(res.statusCode).toBeLessThan(500);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('nestsWithin agrees with a recursive depth count', () => {
    const depth = (v: unknown): number =>
      v === null || typeof v !== 'object'
        ? 0
        : 1 + Math.max(0, ...(Array.isArray(v) ? v : Object.values(v)).map(depth));
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.nat(7), (v, limit) => {
        expect(nestsWithin(v, limit)).toBe(depth(v) <= limit);
      }),
      { numRuns: 500 },
    );
  });
});
