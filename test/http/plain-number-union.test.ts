import { Type } from '@sinclair/typebox';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ROUTE_MODULES } from '../../src/server/routes/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

/**
 * A number in the query is a plain decimal also where the field is a union — an integer or a
 * word (`Type.Union([Type.Integer(), Type.Literal('last')])`), a type list
 * (`['integer', 'null']`) — on routes an embedding application adds: hex, exponent and padded
 * forms are 400, plain decimals and the union's words are accepted.
 */
let t: TestApp;
beforeEach(async () => {
  t = await createTestApp({
    routes: [
      ...ROUTE_MODULES,
      async (app) => {
        app.get(
          '/embedded/numbers',
          {
            config: { public: true, rateLimit: false },
            schema: {
              querystring: Type.Object({
                page: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Literal('last')])),
                size: Type.Optional({ type: ['integer', 'null'] } as never),
              }),
            },
          },
          async (request) => request.query,
        );
      },
    ],
  });
});
afterEach(async () => t.close());

it.each(['page=0x10', 'page=1e1', 'page=%205', 'size=0x10', 'size=1e1'])('?%s in a union-typed number field is refused with 400', async (query) => {
  const response = await t.app.inject({ method: 'GET', url: `/embedded/numbers?${query}` });
  expect(response.statusCode).toBe(400);
});

it('plain decimals and the literal alternative are accepted', async () => {
  expect((await t.app.inject({ method: 'GET', url: '/embedded/numbers?page=16&size=3' })).json()).toEqual({ page: 16, size: 3 });
  expect((await t.app.inject({ method: 'GET', url: '/embedded/numbers?page=last' })).json()).toEqual({ page: 'last' });
});
