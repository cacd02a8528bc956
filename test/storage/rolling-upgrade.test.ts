// During a rolling upgrade a newer build migrates the database while instances of the older
// build still run and restart. The older build must start on it without applying anything
// (every one of its migrations is applied; the newer ones are only reported), while a database
// that lacks one of its migrations between applied ones stays an error.
import { sql } from 'kysely';
import { afterEach, expect, it } from 'vitest';
import { MIGRATIONS, migrateToLatest, migrationStatus, openDatabase, type Storage, type WardenMigration } from '../../src/storage/index.js';
import { migrateDatabase, requireMigrated } from '../../src/storage/migrate.js';
import { SchemaNotMigratedError } from '../../src/storage/schema-not-migrated.js';
import { createTestDatabase, describeEachDatabase, type TestDatabase } from '../helpers/databases.js';

const FUTURE: WardenMigration = {
  name: '0098_added_by_the_next_release',
  async up(db) {
    await sql`create table future_things (id text primary key)`.execute(db);
  },
};

describeEachDatabase('rolling upgrades', (dialect) => {
  let database: TestDatabase;
  let storage: Storage;
  afterEach(async () => {
    await storage.close();
    await database.cleanup();
  });

  async function open(): Promise<Storage> {
    database = await createTestDatabase(dialect);
    storage = openDatabase(database.url);
    return storage;
  }

  it('an older build starts on a database a newer build migrated: nothing applied, the newer migrations named', async () => {
    await open();
    await migrateToLatest(storage, [...MIGRATIONS, FUTURE]); // the new release started first
    await expect(migrateToLatest(storage)).resolves.toEqual([]);
    await expect(migrateDatabase(storage)).resolves.toEqual({ applied: [], unknown: [FUTURE.name] });
    await expect(requireMigrated(storage)).resolves.toEqual({ applied: [], unknown: [FUTURE.name] });
    // `warden migrate --status` of the old build lists it as applied, marked as not its own.
    const status = await migrationStatus(storage);
    expect(status.map((m) => m.name)).toEqual([...MIGRATIONS.map((m) => m.name), FUTURE.name]);
    expect(status.every((m) => m.executedAt instanceof Date)).toBe(true);
    expect(status.filter((m) => !m.known).map((m) => m.name)).toEqual([FUTURE.name]);
    // The newer build still finds everything applied.
    await expect(migrateToLatest(storage, [...MIGRATIONS, FUTURE])).resolves.toEqual([]);
  });

  it("a database lacking one of this build's migrations between applied ones is still an error", async () => {
    await open();
    await migrateToLatest(storage);
    const between: WardenMigration = { name: '0010b_only_in_this_build', up: async () => undefined };
    await expect(migrateToLatest(storage, [...MIGRATIONS, between])).rejects.toMatchObject({
      code: 'storage_unavailable',
      reason: expect.stringContaining('not applied: 0010b_only_in_this_build'),
    });
    expect((await migrationStatus(storage, [...MIGRATIONS, between])).find((m) => m.name === between.name)?.executedAt).toBeUndefined();
  });

  it('a database ahead of this build while one of its own migrations is pending is an error, and nothing is applied', async () => {
    await open();
    await migrateToLatest(storage, [...MIGRATIONS, FUTURE]);
    const mine: WardenMigration = {
      name: '0099_only_in_this_build',
      async up(db) {
        await sql`create table mine (id text primary key)`.execute(db);
      },
    };
    await expect(migrateToLatest(storage, [...MIGRATIONS, mine])).rejects.toMatchObject({
      code: 'storage_unavailable',
      reason: expect.stringMatching(/applied but unknown to this build: 0098_added_by_the_next_release; not applied: 0099_only_in_this_build/),
    });
    expect((await migrationStatus(storage, [...MIGRATIONS, mine])).find((m) => m.name === mine.name)?.executedAt).toBeUndefined();
  });

  it('commands that do not migrate are refused on a database with pending migrations, naming them', async () => {
    await open();
    await migrateToLatest(storage, MIGRATIONS.slice(0, 3));
    const refusal = await requireMigrated(storage).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(SchemaNotMigratedError);
    expect(refusal).toMatchObject({ code: 'conflict', pending: MIGRATIONS.slice(3).map((m) => m.name) });
    expect((refusal as Error).message).toContain('run `warden migrate` first');
  });
});
