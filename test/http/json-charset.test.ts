import { afterEach, beforeEach, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';

/**
 * JSON is UTF-8 (RFC 8259 §8.1). A body declared in another charset is one the server does not
 * read: 415 (RFC 9110 §15.5.16), not "malformed JSON", which would tell the client its JSON is
 * broken. No charset, or utf-8 in any spelling, is read as JSON.
 */
let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(async () => t.close());

const login = (contentType: string, payload: Buffer | string) => t.app.inject({ method: 'POST', url: '/v1/auth/login', headers: { 'content-type': contentType }, payload });
const body = (email = 'a@example.test') => JSON.stringify({ email, password: 'x' });

it('a JSON body declared in a charset other than UTF-8 is 415, not "malformed JSON"', async () => {
  for (const [contentType, payload] of [
    ['application/json; charset=utf-16le', Buffer.from(body(), 'utf16le')],
    ['application/json; charset="ISO-8859-1"', Buffer.from(body(), 'latin1')],
  ] as const) {
    const response = await login(contentType, payload);
    expect(response.statusCode).toBe(415);
    expect(response.json()).toMatchObject({ code: 'unsupported_media_type' });
  }
});

it('reads a body declared as UTF-8 however it is spelled, or without a charset', async () => {
  const spellings = ['application/json', 'application/json; charset=utf-8', 'application/json;charset="UTF-8"', 'application/json; charset=utf8'];
  for (const [i, contentType] of spellings.entries()) {
    // Unknown user (a new one each time, below the login throttle): 401, so the body was read.
    expect((await login(contentType, body(`user${i}@example.test`))).statusCode).toBe(401);
  }
});
