import { WardenError } from '../errors/index.js';

/**
 * A command that does not migrate found migrations of this build not yet applied (code
 * conflict: the database is in a state the command cannot work with; the CLI exits 1). Its
 * queries would otherwise meet raw SQL errors such as `no such table: system_state`.
 */
export class SchemaNotMigratedError extends WardenError {
  /** This build's migrations the database lacks, in the order they apply. */
  readonly pending: readonly string[];

  constructor(pending: readonly string[]) {
    const listed = pending.length > 3 ? `${pending.slice(0, 3).join(', ')}, …` : pending.join(', ');
    super('conflict', `the database is not migrated for this version of Warden (${pending.length} pending: ${listed}): run \`warden migrate\` first`);
    this.pending = Object.freeze([...pending]);
  }
}
