import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { normaliseEmail } from '../../src/identity/user-store.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { bearer, login, seedUser, STRONG_PASSWORD } from './identity-helpers.js';

/**
 * A new or changed address holding a character that renders as nothing is refused (400), or is
 * the same account as the address without it: default-ignorable code points that are letters
 * (Hangul fillers, Khmer inherent vowels), the braille blank U+2800, and marks opening a part
 * (U+034F, variation selectors after '@', '.' or first). Each would otherwise be a second
 * account that renders exactly as `jo@example.com` in every admin view.
 */
const LOOK_ALIKES = [
  'jo\u115F@example.com', // HANGUL CHOSEONG FILLER (Lo, default-ignorable)
  'jo\u3164@example.com', // HANGUL FILLER (NFKC → U+1160, still invisible)
  '\u1160jo@example.com', // HANGUL JUNGSEONG FILLER
  'jo@example.com\uFFA0', // HALFWIDTH HANGUL FILLER
  'jo@\u17B4example.com', // KHMER VOWEL INHERENT AQ (default-ignorable)
  'jo\u2800@example.com', // BRAILLE PATTERN BLANK
  'jo@\u034Fexample.com', // COMBINING GRAPHEME JOINER after '@'
  '\uFE0Fjo@example.com', // VARIATION SELECTOR-16 first
  'jo@\u{E0100}example.com', // VARIATION SELECTOR-17 after '@'
  'jo@example.\u180Bcom', // MONGOLIAN FREE VARIATION SELECTOR ONE after '.'
];

describe('an address with a character that renders as nothing', () => {
  it('is refused, or is the same account as the address without it', () => {
    const accepted: string[] = [];
    for (const raw of LOOK_ALIKES) {
      let email: string | undefined;
      try {
        email = normaliseEmail(raw);
      } catch {
        continue;
      }
      if (email !== 'jo@example.com') accepted.push(JSON.stringify(email));
    }
    expect(accepted, 'accepted as a second account that renders as jo@example.com').toEqual([]);
  });

  describe('over HTTP', () => {
    let t: TestApp;
    beforeEach(async () => {
      t = await createTestApp();
    });
    afterEach(async () => t.close());

    it('POST /v1/users does not create a second jo@example.com', async () => {
      const admin = await seedUser(t, { isAdmin: true });
      const token = (await login(t.app, admin.email)).access_token;
      const create = (email: string) =>
        t.app.inject({
          method: 'POST',
          url: '/v1/users',
          headers: bearer(token),
          payload: { email, password: STRONG_PASSWORD },
        });
      expect((await create('jo@example.com')).statusCode).toBe(201);
      const second = await create('jo\u3164@example.com');
      expect([400, 409], second.body).toContain(second.statusCode);
    });
  });
});
