import type { WardenMigration } from '../migration.js';

/**
 * Seals the audit chain: the head row gets an HMAC signature (written by the service, which
 * holds the key; a migration does not) and a reference to the newest checkpoint, and
 * checkpoints get an ordinal and their predecessor's signature so they form a chain of their
 * own. Existing rows keep NULLs there; docs/audit.md says how they verify.
 */
export const migration0010AuditHeadSeal: WardenMigration = {
  name: '0010_audit_head_seal',
  async up(db) {
    // One column per statement: SQLite's ALTER TABLE adds a single column at a time.
    await db.schema.alterTable('audit_chain_head').addColumn('checkpoint_ordinal', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable('audit_chain_head').addColumn('checkpoint_signature', 'text').execute();
    await db.schema.alterTable('audit_chain_head').addColumn('signature', 'text').execute();
    await db.schema.alterTable('audit_checkpoints').addColumn('ordinal', 'bigint').execute();
    await db.schema.alterTable('audit_checkpoints').addColumn('prev_signature', 'text').execute();
    // Both databases let any number of NULLs (pre-0010 rows) share a unique index.
    await db.schema.createIndex('audit_checkpoints_ordinal').unique().on('audit_checkpoints').column('ordinal').execute();
  },
};
