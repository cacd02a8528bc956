import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiKeys } from '../../src/apikeys/api-keys-domain.js';
import { ROUTE_MODULES, type RouteModule } from '../../src/server/routes/index.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { insertTestUser } from '../helpers/users.js';

const DEPTH = 20_000;
const deepArray = `${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}`;
// The whole body, a field of an object body, and a value deep inside an unknown field.
const BODIES = [deepArray, `{"name":${deepArray}}`, `{"x":{"y":${deepArray}}}`, `{"metadata":{"a":${deepArray}}}`];

/** Every route the service registers, as `[method, url]`, and the body schemas. */
const seen: [string, string][] = [];
const bodySchemas: [string, unknown][] = [];
const collector: RouteModule = async (app) => {
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) seen.push([method, route.url]);
    const body = (route.schema as { body?: unknown } | undefined)?.body;
    if (body !== undefined) bodySchemas.push([`${[route.method].flat().join(',')} ${route.url}`, body]);
  });
};

/**
 * The places in a JSON schema that accept a value of any shape — no type or other constraint,
 * or an object open to unknown fields — with no `maxDepth` on them or around them.
 */
function unboundedFreeForm(schema: unknown, path: string, bounded = false, out: string[] = []): string[] {
  if (schema === null || typeof schema !== 'object') return out;
  const s = schema as Record<string, unknown>;
  const here = bounded || typeof s.maxDepth === 'number';
  const constrained = ['type', 'anyOf', 'oneOf', 'allOf', 'const', 'enum', '$ref', 'not'].some((k) => k in s);
  if (!constrained && !here) out.push(path);
  if (s.type === 'object' && s.additionalProperties !== false && s.patternProperties === undefined && !here) out.push(`${path}{unknown fields}`);
  for (const [name, inner] of Object.entries((s.properties ?? {}) as Record<string, unknown>)) unboundedFreeForm(inner, `${path}.${name}`, here, out);
  for (const inner of Object.values((s.patternProperties ?? {}) as Record<string, unknown>)) unboundedFreeForm(inner, `${path}[*]`, here, out);
  if (typeof s.additionalProperties === 'object') unboundedFreeForm(s.additionalProperties, `${path}[*]`, here, out);
  if (s.items !== undefined) unboundedFreeForm(s.items, `${path}[]`, here, out);
  for (const k of ['anyOf', 'oneOf', 'allOf']) for (const inner of (s[k] ?? []) as unknown[]) unboundedFreeForm(inner, path, here, out);
  return out;
}

describe('no route answers 500 to a deeply nested JSON body', () => {
  let t: TestApp;
  let key: string;

  beforeAll(async () => {
    t = await createTestApp({ routes: [collector, ...ROUTE_MODULES], env: { WARDEN_RATELIMIT_DEFAULT: '100000/60s' } });
    const ownerId = await insertTestUser(t.context.storage.db, { isAdmin: true });
    key = (await (t.context.apiKeys as ApiKeys).service.create({ name: 'admin', ownerId, permissions: ['*:*'] }, { actor: 'system' })).key;
  });
  afterAll(async () => t.close());

  it(`answers every route taking a body (${BODIES.length} bodies, ${DEPTH} levels) without a server error`, async () => {
    const withBodies = seen.filter(([method]) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method));
    expect(withBodies.length).toBeGreaterThan(10);
    const failures: string[] = [];
    for (const [method, pattern] of withBodies) {
      // A well-formed id that names nothing; the deep body is what is under test.
      const url = pattern.replace(/:[A-Za-z_]+/g, '00000000-0000-4000-8000-000000000000');
      for (const payload of BODIES) {
        const response = await t.app.inject({ method: method as 'POST', url, headers: { 'x-api-key': key, 'content-type': 'application/json' }, payload });
        if (response.statusCode >= 500) failures.push(`${method} ${pattern} → ${response.statusCode} ${response.body.slice(0, 200)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('bounds the depth of every body field that takes free-form JSON (jsonObjectSchema)', () => {
    expect(bodySchemas.length).toBeGreaterThan(10);
    const unbounded = bodySchemas.flatMap(([route, schema]) => unboundedFreeForm(schema, `${route} body`));
    expect(unbounded).toEqual([]);
  });
});
