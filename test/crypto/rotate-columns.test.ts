import type { KyselyPlugin } from 'kysely';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { generateAesKeyEntry } from '../../src/crypto/aes-gcm-keyring.js';
import { ENCRYPTED_COLUMNS } from '../../src/crypto/encrypted-columns.js';
import { createKeyringFieldCipher, createPlaintextFieldCipher } from '../../src/crypto/field-cipher.js';
import { rotateEncryptedColumns } from '../../src/crypto/rotate-columns.js';
import type { Storage } from '../../src/storage/index.js';
import { createTestStorage, describeEachDatabase } from '../helpers/databases.js';

const ROOT = 'root-secret-for-rotation-tests-0123456789';

describeEachDatabase('rotateEncryptedColumns', (dialect) => {
  let storage: Storage;
  beforeEach(async () => {
    storage = await createTestStorage(dialect);
  });
  afterEach(async () => {
    await storage.close();
  });

  async function insertUser(id: string, email: string, lookup: string): Promise<void> {
    await storage.db
      .insertInto('users')
      .values({ id, email, email_lookup: lookup, name: null, password_hash: 'x', is_active: 1, is_admin: 0, created_at: 1, updated_at: 1, password_changed_at: 1 })
      .execute();
  }

  it('re-encrypts old-key and plaintext values with the active key; the old key can then be retired', async () => {
    const k1 = generateAesKeyEntry('k1');
    const k2 = generateAesKeyEntry('k2');
    const old = createKeyringFieldCipher({ rootSecret: ROOT, keyring: k1 });
    const plain = createPlaintextFieldCipher(ROOT);
    const emails = Array.from({ length: 7 }, (_, i) => `user${i}@example.com`);
    for (const [i, email] of emails.entries()) {
      // Rows 0-4 encrypted with k1, rows 5-6 stored before encryption was turned on.
      await insertUser(`u${i}`, i < 5 ? old.encrypt(email, `users.email:u${i}`) : email, plain.blindIndex(email, 'users.email'));
    }
    const both = createKeyringFieldCipher({ rootSecret: ROOT, keyring: `${k2},${k1}` });
    const [report] = await rotateEncryptedColumns(storage.db, both, ENCRYPTED_COLUMNS, { batchSize: 3 });
    expect(report).toEqual({ table: 'users', column: 'email', scanned: 7, rotated: 7, failedIds: [], unsettledIds: [] });

    const onlyNew = createKeyringFieldCipher({ rootSecret: ROOT, keyring: k2 });
    const rows = await storage.db.selectFrom('users').select(['id', 'email', 'email_lookup']).orderBy('id').execute();
    expect(rows.map((r) => onlyNew.decrypt(r.email, `users.email:${r.id}`))).toEqual(emails);
    // The blind index did not change, so login by email still finds each user.
    expect(rows.map((r) => r.email_lookup)).toEqual(emails.map((e) => onlyNew.blindIndex(e, 'users.email')));

    const [again] = await rotateEncryptedColumns(storage.db, onlyNew, ENCRYPTED_COLUMNS);
    expect(again?.rotated).toBe(0);
  });

  /** The database as rotation sees it when each of its next `reads` reads of users shows `email` as it was before a concurrent write. */
  function readingStale(email: string, reads: number): KyselyPlugin {
    let left = reads;
    return {
      transformQuery: (args) => args.node,
      transformResult: async (args) => {
        const rows = args.result.rows as Record<string, unknown>[];
        if (left === 0 || !rows.some((row) => 'email' in row)) return args.result;
        left -= 1;
        return { ...args.result, rows: rows.map((row) => ({ ...row, email })) };
      },
    };
  }

  it('a row written by an instance with the old keyring between read and write is read again and rotated, not counted as done', async () => {
    const k1 = generateAesKeyEntry('k1');
    const k2 = generateAesKeyEntry('k2');
    const old = createKeyringFieldCipher({ rootSecret: ROOT, keyring: k1 });
    const both = createKeyringFieldCipher({ rootSecret: ROOT, keyring: `${k2},${k1}` });
    const before = old.encrypt('before@example.com', 'users.email:u1');
    // What is stored now: an instance still on k1 wrote a new email after rotation read the row.
    await insertUser('u1', old.encrypt('after@example.com', 'users.email:u1'), 'l1');

    const [report] = await rotateEncryptedColumns(storage.db.withPlugin(readingStale(before, 1)), both, ENCRYPTED_COLUMNS);
    expect(report).toEqual({ table: 'users', column: 'email', scanned: 1, rotated: 1, failedIds: [], unsettledIds: [] });
    const stored = (await storage.db.selectFrom('users').select('email').where('id', '=', 'u1').executeTakeFirstOrThrow()).email;
    expect(both.needsRotation(stored)).toBe(false);
    expect(createKeyringFieldCipher({ rootSecret: ROOT, keyring: k2 }).decrypt(stored, 'users.email:u1')).toBe('after@example.com');
  });

  it('reports a row that changes at every attempt as unsettled, leaving it as it is', async () => {
    const k1 = generateAesKeyEntry('k1');
    const old = createKeyringFieldCipher({ rootSecret: ROOT, keyring: k1 });
    const both = createKeyringFieldCipher({ rootSecret: ROOT, keyring: `${generateAesKeyEntry('k2')},${k1}` });
    const current = old.encrypt('after@example.com', 'users.email:u1');
    await insertUser('u1', current, 'l1');
    const [report] = await rotateEncryptedColumns(storage.db.withPlugin(readingStale(old.encrypt('before@example.com', 'users.email:u1'), 100)), both, ENCRYPTED_COLUMNS);
    expect(report).toMatchObject({ rotated: 0, failedIds: [], unsettledIds: ['u1'] });
    expect((await storage.db.selectFrom('users').select('email').where('id', '=', 'u1').executeTakeFirstOrThrow()).email).toBe(current);
  });

  it('reports rows it cannot decrypt by id, leaves them untouched, and supports a dry run', async () => {
    const stranger = createKeyringFieldCipher({ rootSecret: ROOT, keyring: generateAesKeyEntry('gone') });
    const strangeValue = stranger.encrypt('lost@example.com', 'users.email:a');
    await insertUser('a', strangeValue, 'l1');
    await insertUser('b', 'plain@example.com', 'l2');
    const cipher = createKeyringFieldCipher({ rootSecret: ROOT, keyring: generateAesKeyEntry('k1') });
    const [dry] = await rotateEncryptedColumns(storage.db, cipher, ENCRYPTED_COLUMNS, { dryRun: true });
    expect(dry).toMatchObject({ rotated: 1, failedIds: ['a'] });
    expect((await storage.db.selectFrom('users').select('email').where('id', '=', 'b').executeTakeFirstOrThrow()).email).toBe('plain@example.com');
    const [real] = await rotateEncryptedColumns(storage.db, cipher, ENCRYPTED_COLUMNS);
    expect(real).toMatchObject({ rotated: 1, failedIds: ['a'] });
    expect((await storage.db.selectFrom('users').select('email').where('id', '=', 'a').executeTakeFirstOrThrow()).email).toBe(strangeValue);
  });

  it('decodes legacy sealed forms through the column\'s openLegacy hook, reporting rows it rejects', async () => {
    await insertUser('a', 'legacy:moc.elpmaxe@a', 'l1');
    await insertUser('b', 'legacy-broken', 'l2');
    const cipher = createKeyringFieldCipher({ rootSecret: ROOT, keyring: generateAesKeyEntry('k1') });
    const column = {
      ...ENCRYPTED_COLUMNS[0]!,
      openLegacy: (stored: string, _row: unknown, rootSecret: string | undefined): string => {
        if (rootSecret !== ROOT) throw new Error('needs the root secret');
        if (!stored.startsWith('legacy:')) throw new Error('bad legacy value');
        return [...stored.slice('legacy:'.length)].reverse().join('');
      },
    };
    // Without the root secret this decoder can open nothing: every legacy row is reported, none changed.
    expect((await rotateEncryptedColumns(storage.db, cipher, [column]))[0]).toMatchObject({ rotated: 0, failedIds: ['a', 'b'] });
    const [report] = await rotateEncryptedColumns(storage.db, cipher, [column], { rootSecret: ROOT });
    expect(report).toMatchObject({ rotated: 1, failedIds: ['b'] });
    const row = await storage.db.selectFrom('users').select('email').where('id', '=', 'a').executeTakeFirstOrThrow();
    expect(cipher.decrypt(row.email, 'users.email:a')).toBe('a@example.com');
  });
});
