import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApiKeys } from '../../src/apikeys/api-keys-domain.js';
import { MAX_JSON_DEPTH, nestsWithin } from '../../src/http/json-depth.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { insertUser } from './fixtures.js';

/** `{"a": {"a": … 1}}` nested `levels` objects deep (the outer object is level 1). */
function nestedObject(levels: number): Record<string, unknown> {
  let value: unknown = 1;
  for (let i = 0; i < levels; i += 1) value = { a: value };
  return value as Record<string, unknown>;
}

describe('nestsWithin', () => {
  it('counts objects and arrays as levels (the value itself is level 1) and stops at the first level too deep', () => {
    expect(nestsWithin(1, 0)).toBe(true);
    expect(nestsWithin({}, 1)).toBe(true);
    expect(nestsWithin({ a: [1, { b: null }] }, 3)).toBe(true);
    expect(nestsWithin({ a: [1, { b: null }] }, 2)).toBe(false);
    expect(nestsWithin(nestedObject(8), 8)).toBe(true);
    expect(nestsWithin(nestedObject(9), 8)).toBe(false);
    // Iterative: a depth that would overflow a recursive walk is answered.
    expect(nestsWithin(JSON.parse(`${'['.repeat(200_000)}${']'.repeat(200_000)}`), 8)).toBe(false);
  });
});

describe('POST /v1/keys: metadata nesting is bounded', () => {
  let t: TestApp;
  let ownerId: string;
  let adminKey: string;

  beforeEach(async () => {
    t = await createTestApp();
    ownerId = await insertUser(t.context.storage.db, { admin: true });
    adminKey = (await (t.context.apiKeys as ApiKeys).service.create({ name: 'admin', ownerId, permissions: ['keys:*'] }, { actor: 'system' })).key;
  });
  afterEach(async () => t.close());

  const create = (metadata: unknown) =>
    t.app.inject({ method: 'POST', url: '/v1/keys', headers: { 'x-api-key': adminKey }, payload: { name: 'ci', owner_id: ownerId, permissions: ['keys:read'], metadata } as object });

  it(`accepts metadata nested ${MAX_JSON_DEPTH} levels deep and keeps it`, async () => {
    const created = await create(nestedObject(MAX_JSON_DEPTH));
    expect(created.statusCode).toBe(201);
    expect(created.json<{ metadata: unknown }>().metadata).toEqual(nestedObject(MAX_JSON_DEPTH));
  });

  it('refuses deeper metadata with 400 validation_failed naming metadata', async () => {
    const refused = await create(nestedObject(MAX_JSON_DEPTH + 1));
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ code: 'validation_failed', detail: `body.metadata must not nest objects or arrays more than ${MAX_JSON_DEPTH} levels deep` });
  });

  it('refuses 20,000 nested arrays (~40 KB) with 400, not a 500 from a stack overflow', async () => {
    const body = `{"name":"ci","owner_id":"${ownerId}","permissions":["keys:read"],"metadata":{"a":${'['.repeat(20_000)}${']'.repeat(20_000)}}}`;
    const refused = await t.app.inject({ method: 'POST', url: '/v1/keys', headers: { 'x-api-key': adminKey, 'content-type': 'application/json' }, payload: body });
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ code: 'validation_failed', detail: expect.stringContaining('body.metadata') });
    expect((await (t.context.apiKeys as ApiKeys).service.list({ ownerId, limit: 10 })).data).toHaveLength(1);
  });
});
