import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalEmail, normaliseEmail } from '../../src/identity/user-store.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { bearer, login, seedUser, STRONG_PASSWORD } from './identity-helpers.js';

describe('canonicalEmail', () => {
  it('folds the dot equivalents of a domain name (U+3002, U+FF0E, U+FF61) to "."', () => {
    for (const dot of ['\u3002', '\uFF0E', '\uFF61']) expect(canonicalEmail(`jo@mail.example${dot}com`)).toBe('jo@mail.example.com');
    expect(canonicalEmail('jo@example.com\u3002')).toBe('jo@example.com');
  });

  it('leaves the local part alone (a dot equivalent there is another mailbox)', () => {
    expect(canonicalEmail('j\u3002o@example.com')).toBe('j\u3002o@example.com');
  });

  // Creation canonicalises more than once on its way to the store, login once: any input must
  // come out the same however often it is canonicalised, or an account could not be logged into
  // with the very address it was created with.
  it('is a fixed point: canonicalising twice changes nothing', () => {
    expect(canonicalEmail(canonicalEmail('jo@xn--bcher-kva.example\u3002'))).toBe(canonicalEmail('jo@xn--bcher-kva.example\u3002'));
    const piece = fc.constantFrom('a', 'B', 'é', 'ß', '.', '。', '．', '｡', 'xn--', 'bcher-kva', '-', 'ｅ', 'K', ' ');
    const part = fc.array(piece, { minLength: 1, maxLength: 12 }).map((p) => p.join(''));
    fc.assert(
      fc.property(part, part, (local, domain) => {
        let once: string;
        try {
          // What is stored: only addresses creation accepts matter.
          once = normaliseEmail(`${local}@${domain}`);
        } catch {
          return;
        }
        expect(canonicalEmail(once)).toBe(once);
        expect(normaliseEmail(once)).toBe(once);
      }),
      { numRuns: 3000 },
    );
  });
});

describeEachDatabase('accounts under the canonical form', (dialect) => {
  let t: TestApp;
  let adminToken: string;
  beforeEach(async () => {
    t = await createTestApp({ dialect });
    const admin = await seedUser(t, { email: 'root@example.test', isAdmin: true });
    adminToken = (await login(t.app, admin.email)).access_token;
  });
  afterEach(async () => t.close());

  const create = (email: string) => t.app.inject({ method: 'POST', url: '/v1/users', headers: bearer(adminToken), payload: { email, password: STRONG_PASSWORD } });

  it('an ideographic full stop in the domain is the dot it stands for: one mailbox, one account', async () => {
    expect((await create('jo@mail.example.com')).statusCode).toBe(201);
    expect((await create('jo@mail.example\u3002com')).json()).toMatchObject({ status: 409, code: 'email_taken' });
  });

  it('logs in with exactly the address the account was created with', async () => {
    const raw = 'jo@xn--bcher-kva.example\u3002';
    expect((await create(raw)).statusCode).toBe(201);
    const response = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: raw, password: STRONG_PASSWORD } });
    expect(response.statusCode).toBe(200);
  });
});
