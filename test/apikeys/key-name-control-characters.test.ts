import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApiKeys } from '../../src/apikeys/api-keys-domain.js';
import { importKeys } from '../../src/apikeys/key-import.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { insertTestUser } from '../helpers/users.js';

/**
 * A key's or client's name is shown to operators (`warden keys list` prints tab-separated
 * rows, `warden keys show`, the audit log) and to every keys:read holder: a newline or tab
 * forges rows, an escape sequence drives the operator's terminal, U+202E reorders the text.
 * Such names are refused as user names are.
 */
describe('names of keys and OAuth clients refuse control and bidirectional characters', () => {
  let t: TestApp;
  let owner: string;
  let ownerKey: string;

  beforeEach(async () => {
    t = await createTestApp({ dialect: 'sqlite' });
    owner = await insertTestUser(t.context.storage.db, { isAdmin: true });
    ownerKey = (
      await (t.context.apiKeys as ApiKeys).service.create(
        { name: 'admin', ownerId: owner, permissions: ['keys:*', 'clients:*'] },
        { actor: 'system' },
      )
    ).key;
  });
  afterEach(async () => t.close());

  const forged = [
    'ci\n00000000-0000-0000-0000-000000000000\twdn_live_AAAAAAAA\tactive\t0\tbackup',
    'tab\tseparated',
    'esc \u001b[2J\u001b[H cleared',
    'c1 \u009b2J',
    'bidi \u202egpj.exe',
    'mark \u200fname',
  ];

  for (const name of forged) {
    it(`POST /v1/keys and POST /v1/clients refuse ${JSON.stringify(name)}, creating nothing`, async () => {
      const before = await t.context.storage.db.selectFrom('api_keys').select('id').execute();
      const key = await t.app.inject({
        method: 'POST',
        url: '/v1/keys',
        headers: { 'x-api-key': ownerKey },
        payload: { name, owner_id: owner, permissions: ['keys:read'] },
      });
      expect(key.statusCode).toBe(400);
      expect(key.json()).toMatchObject({ code: 'validation_failed' });
      expect(await t.context.storage.db.selectFrom('api_keys').select('id').execute()).toHaveLength(
        before.length,
      );
      const client = await t.app.inject({
        method: 'POST',
        url: '/v1/clients',
        headers: { 'x-api-key': ownerKey },
        payload: { name, owner_id: owner, scopes: ['keys:read'] },
      });
      expect(client.statusCode).toBe(400);
      expect(client.json()).toMatchObject({ code: 'validation_failed' });
      expect(await t.context.storage.db.selectFrom('oauth_clients').select('id').execute()).toHaveLength(0);
    });
  }

  it('warden keys import reports such a name, and one over 200 characters, by line without importing it', async () => {
    const apiKeys = t.context.apiKeys as ApiKeys;
    const entry = (name: string, n: number) => ({
      key: `sk-legacy-name-check-${n}-0123456789abcdef`,
      name,
      ownerId: owner,
      permissions: [],
    });
    const report = await importKeys(
      [entry('tab\tseparated', 1), entry('x'.repeat(201), 2), entry('plain name', 3)],
      { db: t.context.storage.db, keyring: apiKeys.keyring, actor: 'system' },
    );
    expect(report.imported).toBe(1);
    expect(report.problems).toEqual([
      expect.stringMatching(/control characters/),
      expect.stringMatching(/at most 200 characters/),
    ]);
  });

  it('names in other scripts and with emoji are fine', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/keys',
      headers: { 'x-api-key': ownerKey },
      payload: { name: 'Ключ для CI 🚀 — تجربة', owner_id: owner, permissions: ['keys:read'] },
    });
    expect(res.statusCode).toBe(201);
  });
});
