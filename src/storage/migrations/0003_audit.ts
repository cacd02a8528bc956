import type { WardenMigration } from '../migration.js';

const GENESIS_HASH = '0'.repeat(64);

export const migration0003Audit: WardenMigration = {
  name: '0003_audit',
  async up(db) {
    await db.schema
      .createTable('audit_events')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('seq', 'bigint', (c) => c.notNull().unique())
      .addColumn('occurred_at', 'bigint', (c) => c.notNull())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('entity_type', 'text')
      .addColumn('entity_id', 'text')
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('ip', 'text')
      .addColumn('user_agent', 'text')
      .addColumn('request_id', 'text')
      .addColumn('details', 'text')
      .addColumn('prev_hash', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .execute();
    // Query filters narrow by one column and page newest first by seq.
    await db.schema.createIndex('audit_events_occurred_at').on('audit_events').columns(['occurred_at']).execute();
    await db.schema.createIndex('audit_events_action_seq').on('audit_events').columns(['action', 'seq']).execute();
    await db.schema.createIndex('audit_events_actor_seq').on('audit_events').columns(['actor', 'seq']).execute();
    await db.schema
      .createIndex('audit_events_entity_seq')
      .on('audit_events')
      .columns(['entity_type', 'entity_id', 'seq'])
      .execute();
    await db.schema
      .createTable('audit_chain_head')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.insertInto('audit_chain_head').values({ id: 'head', seq: 0, hash: GENESIS_HASH, updated_at: Date.now() }).execute();
    await db.schema
      .createTable('audit_checkpoints')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('signature', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('audit_checkpoints_seq').on('audit_checkpoints').columns(['seq']).execute();
  },
};
