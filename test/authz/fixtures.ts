import {
  AliasNode,
  SelectQueryNode,
  TableNode,
  type Kysely,
  type KyselyPlugin,
  type OperationNode,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryId,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
} from 'kysely';
import type { AuditEventInput, AuditRecorder } from '../../src/audit/audit-event.js';
import type { Principal } from '../../src/http/principal.js';
import type { DatabaseSchema } from '../../src/storage/index.js';
import { insertTestUser } from '../helpers/users.js';

/** Inserts a user row directly (the user service is another domain's). */
export function insertUser(db: Kysely<DatabaseSchema>, options: { isAdmin?: boolean; isActive?: boolean } = {}): Promise<string> {
  return insertTestUser(db, options);
}

/** A user principal with an unrestricted token. */
export function userPrincipal(subject: string, permissions: readonly string[] = []): Principal {
  return { kind: 'user', subject, permissions, credentialId: `jti-${subject}` };
}

/** An audit recorder that keeps events in memory. */
export function memoryAudit(): AuditRecorder & { events: AuditEventInput[] } {
  const events: AuditEventInput[] = [];
  return {
    events,
    async record(event) {
      events.push(event);
    },
  };
}

/** The table a SELECT reads first (its FROM), or undefined for other statements. */
function selectedTable(node: RootOperationNode): string | undefined {
  if (!SelectQueryNode.is(node)) return undefined;
  let from: OperationNode | undefined = node.from?.froms[0];
  if (from !== undefined && AliasNode.is(from)) from = from.node;
  return from !== undefined && TableNode.is(from) ? from.table.identifier.name : undefined;
}

/**
 * Wraps a database so a test can count SELECTs per table and hold the next result read from
 * a table (the query has run; its caller has not seen the rows yet) to stage races.
 */
export function instrumentedDb(db: Kysely<DatabaseSchema>): {
  db: Kysely<DatabaseSchema>;
  selects: (table: string) => number;
  /** Holds the next result from `table`; resolves once that query has run and is held. */
  holdNextFrom: (table: string) => Promise<void>;
  release: () => void;
} {
  const counts = new Map<string, number>();
  const tableOf = new WeakMap<QueryId, string>();
  let hold: { table: string; reached: () => void; gate: Promise<void> } | undefined;
  let release = (): void => {};
  const plugin: KyselyPlugin = {
    transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
      const table = selectedTable(args.node);
      if (table !== undefined) {
        counts.set(table, (counts.get(table) ?? 0) + 1);
        tableOf.set(args.queryId, table);
      }
      return args.node;
    },
    async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
      const held = hold;
      if (held !== undefined && tableOf.get(args.queryId) === held.table) {
        hold = undefined;
        held.reached();
        await held.gate;
      }
      return args.result;
    },
  };
  return {
    db: db.withPlugin(plugin),
    selects: (table) => counts.get(table) ?? 0,
    holdNextFrom: (table) =>
      new Promise<void>((reached) => {
        hold = { table, reached, gate: new Promise<void>((open) => (release = open)) };
      }),
    release: () => release(),
  };
}
