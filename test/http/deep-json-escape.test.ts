import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

/**
 * A valid JSON body inside the body limit, nested tens of thousands deep and holding a `\u`
 * escape, gets the schema's precise 400 like the same body without the escape: the check for
 * unpaired surrogate escapes does not overflow the stack (which read as "not valid JSON").
 */
describe('deep JSON with an escape', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(async () => t.close());

  it('answers a deep valid body the same with or without a \\u escape', async () => {
    const depth = 20_000;
    const send = (inner: string) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        headers: { 'content-type': 'application/json' },
        payload: `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`,
      });
    const plain = await send('"A"');
    expect(plain.json()).toMatchObject({ status: 400, code: 'validation_failed', field: 'body' });
    const escaped = await send('"\\u0041"');
    expect(escaped.json()).toMatchObject({
      status: 400,
      code: 'validation_failed',
      field: 'body',
      detail: plain.json<{ detail: string }>().detail,
    });
  });
});
