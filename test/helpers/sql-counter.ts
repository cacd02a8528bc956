import { createRequire } from 'node:module';
import pg from 'pg';

/**
 * Counts every SQL statement the process sends, at the driver: better-sqlite3's `prepare`
 * (Kysely's SqliteDriver prepares every statement), node:sqlite's where it stands in for it,
 * and pg's `Client.prototype.query` (Kysely's PostgresDriver and the pool's own connect-time
 * SET both go through it).
 */
export interface SqlCounter {
  /** Starts recording (clears what was recorded). */
  start(): void;
  /** Stops recording and returns the statements seen since start(). */
  stop(): string[];
  restore(): void;
}

export function installSqlCounter(): SqlCounter {
  let recording: string[] | undefined;
  const note = (text: unknown): void => {
    if (recording === undefined) return;
    const sql =
      typeof text === 'string'
        ? text
        : typeof (text as { text?: unknown })?.text === 'string'
          ? (text as { text: string }).text
          : String(text);
    recording.push(sql.replace(/\s+/g, ' ').trim());
  };
  const Database = createRequire(import.meta.url)('better-sqlite3') as {
    prototype: Record<string, (...args: unknown[]) => unknown>;
  };
  const proto = Database.prototype;
  const originalPrepare = proto.prepare as (...args: unknown[]) => unknown;
  const originalExec = proto.exec as (...args: unknown[]) => unknown;
  proto.prepare = function (this: unknown, ...args: unknown[]) {
    note(args[0]);
    return originalPrepare.apply(this, args);
  };
  proto.exec = function (this: unknown, ...args: unknown[]) {
    note(args[0]);
    return originalExec.apply(this, args);
  };
  // Where better-sqlite3 cannot load (Node 24 with a module built for Node 20), the storage layer
  // runs on node:sqlite's DatabaseSync (src/storage/node-sqlite-adapter.ts): counted the same way.
  const nodeSqlite = nodeSqliteDatabaseProto();
  const originalNodePrepare = nodeSqlite?.prepare;
  const originalNodeExec = nodeSqlite?.exec;
  if (nodeSqlite !== undefined && originalNodePrepare !== undefined && originalNodeExec !== undefined) {
    nodeSqlite.prepare = function (this: unknown, ...args: unknown[]) {
      note(args[0]);
      return originalNodePrepare.apply(this, args);
    };
    nodeSqlite.exec = function (this: unknown, ...args: unknown[]) {
      note(args[0]);
      return originalNodeExec.apply(this, args);
    };
  }
  const clientProto = pg.Client.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  const originalQuery = clientProto.query as (...args: unknown[]) => unknown;
  clientProto.query = function (this: unknown, ...args: unknown[]) {
    note(args[0]);
    return originalQuery.apply(this, args);
  };
  return {
    start() {
      recording = [];
    },
    stop() {
      const seen = recording ?? [];
      recording = undefined;
      return seen;
    },
    restore() {
      proto.prepare = originalPrepare;
      proto.exec = originalExec;
      clientProto.query = originalQuery;
      if (nodeSqlite !== undefined && originalNodePrepare !== undefined && originalNodeExec !== undefined) {
        nodeSqlite.prepare = originalNodePrepare;
        nodeSqlite.exec = originalNodeExec;
      }
    },
  };
}

/** node:sqlite's DatabaseSync prototype, where this Node has it (22.5+). */
function nodeSqliteDatabaseProto(): Record<string, (...args: unknown[]) => unknown> | undefined {
  try {
    const sqlite = createRequire(import.meta.url)('node:sqlite') as {
      DatabaseSync: { prototype: Record<string, (...args: unknown[]) => unknown> };
    };
    return sqlite.DatabaseSync.prototype;
  } catch {
    return undefined;
  }
}
