import type { Kysely, KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryId, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { SelectQueryNode, TableNode } from 'kysely';
import type { DatabaseSchema } from '../../src/storage/index.js';
import { insertTestUser } from '../helpers/users.js';

/** Inserts a user (active, not admin unless told) and returns its id. */
export function insertUser(db: Kysely<DatabaseSchema>, options: { active?: boolean; admin?: boolean } = {}): Promise<string> {
  return insertTestUser(db, { isActive: options.active, isAdmin: options.admin });
}

/** A clock tests move by hand. */
export function manualClock(start = Date.UTC(2026, 0, 1)): { now: () => number; advance: (ms: number) => void } {
  let at = start;
  return { now: () => at, advance: (ms) => void (at += ms) };
}

/** Changes one character of a key (never to the same character). */
export function withTypo(key: string, index: number): string {
  const c = key[index] as string;
  const replacement = c === 'a' ? 'b' : 'a';
  return key.slice(0, index) + replacement + key.slice(index + 1);
}

/**
 * Wraps a database so that every query it runs is counted, and a test can hold the next
 * query's result (the query has run; its caller has not seen the rows yet) to stage races.
 */
export function instrumentedDb(db: Kysely<DatabaseSchema>): {
  db: Kysely<DatabaseSchema>;
  queries: () => number;
  /**
   * Holds the next result (of the next query `matches` accepts, if given; it sees each query
   * once, in order); resolves once that query has run and is being held.
   */
  holdNextResult: (matches?: (query: RootOperationNode) => boolean) => Promise<void>;
  /** Lets the held result through. */
  release: () => void;
} {
  let count = 0;
  let hold: { reached: () => void; gate: Promise<void>; matches: (query: RootOperationNode) => boolean } | undefined;
  let release = (): void => {};
  // transformResult does not see the query; this remembers which ones to hold, by id.
  const toHold = new WeakSet<QueryId>();
  const plugin: KyselyPlugin = {
    transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
      count += 1;
      if (hold !== undefined && hold.matches(args.node)) toHold.add(args.queryId);
      return args.node;
    },
    async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
      const held = hold;
      if (held !== undefined && toHold.has(args.queryId)) {
        hold = undefined;
        held.reached();
        await held.gate;
      }
      return args.result;
    },
  };
  return {
    db: db.withPlugin(plugin),
    queries: () => count,
    holdNextResult: (matches = () => true) =>
      new Promise<void>((reached) => {
        hold = { reached, matches, gate: new Promise<void>((open) => (release = open)) };
      }),
    release: () => release(),
  };
}

/** Accepts the `n`th SELECT from `table` it is shown (1-based); for instrumentedDb's holdNextResult. */
export function nthSelectFrom(table: string, n: number): (query: RootOperationNode) => boolean {
  let seen = 0;
  return (query) => {
    if (!SelectQueryNode.is(query)) return false;
    const from = query.from?.froms[0];
    const name = from !== undefined && TableNode.is(from) ? from.table.identifier.name : undefined;
    if (name !== table) return false;
    seen += 1;
    return seen === n;
  };
}
