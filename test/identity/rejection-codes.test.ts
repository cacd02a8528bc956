import { KeyObject, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { identityOfApp, seedUser } from './identity-helpers.js';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Tokens signed with Warden's real active key (so the signature is genuine) that are still
 * refused, as they must be, with a code that names what is wrong: only an `nbf` in the future
 * is `token_not_yet_valid` ("retry later"); a missing or non-numeric one is
 * `token_invalid_claims`; an unknown `crit` extension (RFC 7515 §4.1.11) is `token_malformed`,
 * not a bad signature.
 */
describe('refusal codes name the fault, not a neighbouring one', () => {
  let t: TestApp;
  let userId: string;
  beforeAll(async () => {
    t = await createTestApp();
    userId = (await seedUser(t)).id;
  });
  afterAll(async () => t.close());

  const signWithRealKey = (header: Record<string, unknown>, payload: Record<string, unknown>): string => {
    const key = identityOfApp(t).keys.active();
    const input = `${b64({ alg: key.algorithm, kid: key.kid, typ: 'at+jwt', ...header })}.${b64(payload)}`;
    return `${input}.${sign(null, Buffer.from(input), KeyObject.from(key.privateKey as never)).toString('base64url')}`;
  };
  const claims = (): Record<string, unknown> => {
    const now = Math.floor(Date.now() / 1000);
    return { iss: 'warden', aud: 'warden', sub: userId, sid: 's', iat: now, nbf: now, exp: now + 600, jti: `jti-${Math.random()}` };
  };
  const codeOf = async (token: string): Promise<string> => {
    const result = await identityOfApp(t).verifier.verify(token);
    return result.valid ? 'valid' : result.code;
  };

  it('a control token signed the same way is valid', async () => {
    expect(await codeOf(signWithRealKey({}, claims()))).toBe('valid');
  });

  it('a token without nbf is token_invalid_claims (like a missing exp or jti), not token_not_yet_valid', async () => {
    const { nbf: _dropped, ...withoutNbf } = claims();
    const { exp: _gone, ...withoutExp } = claims();
    expect(await codeOf(signWithRealKey({}, withoutExp))).toBe('token_invalid_claims');
    expect(await codeOf(signWithRealKey({}, withoutNbf))).toBe('token_invalid_claims');
  });

  it('a non-numeric nbf is token_invalid_claims (like a non-numeric exp), not token_not_yet_valid', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await codeOf(signWithRealKey({}, { ...claims(), exp: String(now + 600) }))).toBe('token_invalid_claims');
    expect(await codeOf(signWithRealKey({}, { ...claims(), nbf: String(now) }))).toBe('token_invalid_claims');
  });

  it('an nbf in the future is token_not_yet_valid', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await codeOf(signWithRealKey({}, { ...claims(), nbf: now + 3600 }))).toBe('token_not_yet_valid');
  });

  it('an unknown critical header extension is token_malformed, not token_invalid_signature', async () => {
    expect(await codeOf(signWithRealKey({ crit: ['urn:example:unknown'], 'urn:example:unknown': true }, claims()))).toBe('token_malformed');
  });
});
