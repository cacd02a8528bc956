// The root-secret fingerprint check on a fresh database: two first starts (or a start and a
// CLI command) with different WARDEN_SECRET_KEYs race to store their fingerprint. Whichever
// stored it first wins; the other is refused at once, not at its next restart.
import { createHmac } from 'node:crypto';
import pg from 'pg';
import { afterEach, expect, inject, it } from 'vitest';
import { checkSecretKeyFingerprint } from '../../src/server/secret-key-check.js';
import { migrateToLatest, openDatabase, type Storage } from '../../src/storage/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';

const KEY_A = 'first-root-secret-aaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const KEY_B = 'second-root-secret-bbbbbbbbbbbbbbbbbbbbbbbbbbb';

let database: TestDatabase | undefined;
const opened: Storage[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  await database?.cleanup();
  database = undefined;
});

it('sqlite: of two concurrent first checks with different keys, exactly one passes', async () => {
  database = await createTestDatabase('sqlite');
  const a = openDatabase(database.url);
  const b = openDatabase(database.url);
  opened.push(a, b);
  await migrateToLatest(a);
  await Promise.all([a.ping(), b.ping()]);
  const results = await Promise.allSettled([checkSecretKeyFingerprint(a, KEY_A), checkSecretKeyFingerprint(b, KEY_B)]);
  expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  const refused = results.find((r) => r.status === 'rejected');
  expect(refused?.status === 'rejected' ? refused.reason : undefined).toMatchObject({ code: 'config_invalid', message: expect.stringContaining('differs') });
});

it.skipIf(!inject('postgresAvailable'))('postgres: a check that runs while another first start is storing a different key is refused', async () => {
  database = await createTestDatabase('postgres');
  const b = openDatabase(database.url);
  opened.push(b);
  await migrateToLatest(b);
  // Instance A, first start: its INSERT of the fingerprint is in flight (not yet committed).
  const a = new pg.Client({ connectionString: database.url });
  await a.connect();
  try {
    await a.query('begin');
    const fingerprintA = createHmac('sha256', KEY_A).update('warden:secret-key-check:v1').digest('hex');
    await a.query("insert into system_state (key, value, updated_at) values ('secret_key_check', $1, 1)", [fingerprintA]);
    // Instance B starts meanwhile with another key: it sees no row, and its insert waits on A's.
    const checkB = checkSecretKeyFingerprint(b, KEY_B);
    const settled = checkB.then(
      () => 'passed',
      () => 'refused',
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    await a.query('commit');
    expect(await settled).toBe('refused');
    await expect(checkB).rejects.toMatchObject({ code: 'config_invalid' });
    // A's key is the one stored, and still passes.
    await expect(checkSecretKeyFingerprint(b, KEY_A)).resolves.toBeUndefined();
  } finally {
    await a.end();
  }
});
