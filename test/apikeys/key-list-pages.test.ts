import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ApiKeys } from '../../src/apikeys/api-keys-domain.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { describeEachDatabase } from '../helpers/databases.js';
import { cursorOf, expectCursorsRefused, expectQueriesRefused, forgedCursors, readAllPages, type Page } from '../helpers/pages.js';
import { insertUser } from './fixtures.js';

const BASE = Date.UTC(2026, 0, 1);

describeEachDatabase('GET /v1/keys pages with an opaque cursor', (dialect) => {
  let t: TestApp;
  let keys: ApiKeys;
  let auth: Record<string, string>;
  let owner: string;

  beforeEach(async () => {
    t = await createTestApp({ dialect });
    keys = t.context.apiKeys as ApiKeys;
    const admin = await insertUser(t.context.storage.db, { admin: true });
    auth = { 'x-api-key': (await keys.service.create({ name: 'root', ownerId: admin, permissions: ['*:*'] }, { actor: 'system' })).key };
    owner = await insertUser(t.context.storage.db);
    for (let i = 0; i < 6; i += 1) {
      const { record } = await keys.service.create({ name: `k${i}`, ownerId: owner, permissions: [] }, { actor: 'system' });
      // Two keys per millisecond: the order within a tie is the id's, which a page boundary must respect.
      await t.context.storage.db.updateTable('api_keys').set({ created_at: BASE + Math.floor(i / 2) }).where('id', '=', record.id).execute();
    }
  });
  afterEach(async () => t.close());

  /** The owner's keys (or everyone's) as the list must serve them: created_at, then id, both descending. */
  async function expectedOrder(ownerId?: string): Promise<string[]> {
    let query = t.context.storage.db.selectFrom('api_keys').select(['id', 'created_at']);
    if (ownerId !== undefined) query = query.where('owner_id', '=', ownerId);
    const rows = (await query.execute()).map((r) => ({ id: r.id, createdAt: Number(r.created_at) }));
    rows.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
    return rows.map((r) => r.id);
  }

  const ids = (rows: { id: string }[]): string[] => rows.map((r) => r.id);

  it('serves every key exactly once, newest first, at every page size; only the last page has no cursor', async () => {
    const expected = await expectedOrder(owner);
    expect(expected).toHaveLength(6);
    // 1, 2, 3 and 6 divide 6: the last full page must still say it is the last.
    for (const limit of [1, 2, 3, 4, 5, 6, 7]) {
      expect(ids(await readAllPages(t.app, `/v1/keys?owner_id=${owner}`, auth, limit)), `limit ${limit}`).toEqual(expected);
    }
    expect(ids(await readAllPages(t.app, '/v1/keys', auth, 2))).toEqual(await expectedOrder());
    // The default page (50) holds them all.
    expect((await t.app.inject({ url: `/v1/keys?owner_id=${owner}`, headers: auth })).json<Page<{ id: string }>>()).toMatchObject({ next_cursor: null, data: expected.map((id) => ({ id })) });
  });

  it('neither repeats nor skips a key when keys are created while a client pages', async () => {
    const expected = await expectedOrder(owner);
    let added = '';
    const served = await readAllPages<{ id: string }>(t.app, `/v1/keys?owner_id=${owner}`, auth, 2, async (index) => {
      if (index === 0) added = (await keys.service.create({ name: 'late', ownerId: owner, permissions: [] }, { actor: 'system' })).record.id;
    });
    // The new key is newer than the first page: it is on the next first page, not in this walk.
    expect(ids(served)).toEqual(expected);
    expect(ids(await readAllPages(t.app, `/v1/keys?owner_id=${owner}`, auth, 4))).toEqual([added, ...expected]);
  });

  it('refuses a cursor it did not make (SQL, other text, other lists) with 400 naming cursor, and changes nothing', async () => {
    const first = (await t.app.inject({ url: `/v1/keys?owner_id=${owner}&limit=2`, headers: auth })).json<Page<{ id: string }>>();
    const valid = first.next_cursor as string;
    const usersCursor = (await t.app.inject({ url: '/v1/users?limit=1', headers: auth })).json<Page<unknown>>().next_cursor;
    const auditCursor = (await t.app.inject({ url: '/v1/audit?limit=1', headers: auth })).json<Page<unknown>>().next_cursor;
    expect(usersCursor).toEqual(expect.any(String));
    expect(auditCursor).toEqual(expect.any(String));
    const snapshot = async (): Promise<unknown[]> => t.context.storage.db.selectFrom('api_keys').selectAll().where('owner_id', '=', owner).orderBy('id').execute();
    const before = await snapshot();

    await expectCursorsRefused(t.app, `/v1/keys?owner_id=${owner}&limit=2`, auth, forgedCursors(valid, [usersCursor as string, auditCursor as string, cursorOf('clients')]));
    const garbage = await t.app.inject({ url: `/v1/keys?cursor=${encodeURIComponent("' OR 1=1 --")}`, headers: auth });
    expect(garbage.json()).toMatchObject({ status: 400, code: 'validation_failed', field: 'cursor' });

    expect(await snapshot()).toEqual(before);
    const second = await t.app.inject({ url: `/v1/keys?owner_id=${owner}&limit=2&cursor=${valid}`, headers: auth });
    expect(ids(second.json<Page<{ id: string }>>().data)).toEqual((await expectedOrder(owner)).slice(2, 4));
  });

  it('refuses unknown query fields (the old `after` too) and limits outside 1-200', async () => {
    const someKey = (await expectedOrder(owner))[0] as string;
    await expectQueriesRefused(t.app, '/v1/keys', auth, [`after=${someKey}`, 'page=2', 'sort=asc', 'limit=0', 'limit=201', 'limit=1.5', 'limit=ten', 'cursor=', `owner_id=${owner}&offset=2`]);
  });
});
