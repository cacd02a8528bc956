/**
 * Tables owned by the storage layer itself.
 *
 * Portable column conventions (one code path for SQLite and PostgreSQL):
 * - ids: text (UUIDv4 or another unguessable string), never sequential;
 * - timestamps: bigint milliseconds since the epoch (pg's int8 is parsed to a JS number);
 * - booleans: integer 0/1;
 * - JSON: text holding JSON.
 */
export interface SystemStateTable {
  key: string;
  value: string;
  updated_at: number;
}

export interface CoreTables {
  system_state: SystemStateTable;
}
