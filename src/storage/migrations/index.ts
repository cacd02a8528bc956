import type { WardenMigration } from '../migration.js';
import { migration0001Core } from './0001_core.js';
import { migration0002Users } from './0002_users.js';

/** Every migration, in the order they apply. Append new ones at the end; never edit an applied one. */
export const MIGRATIONS: readonly WardenMigration[] = [
  migration0001Core,
  migration0002Users,
];
