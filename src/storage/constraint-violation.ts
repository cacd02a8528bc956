/**
 * Whether a database error is a foreign-key violation: PostgreSQL's SQLSTATE 23503, SQLite's
 * extended code (better-sqlite3 and the node:sqlite adapter both report it this way).
 */
export function isForeignKeyViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}
