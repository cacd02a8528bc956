import type { UserTables } from '../identity/user-tables.js';
import type { CoreTables } from './core-tables.js';

/**
 * The whole database as Kysely sees it: the intersection of every domain's tables. A domain
 * adds its tables by extending this type with its own `*Tables` interface.
 */
export type DatabaseSchema = CoreTables & UserTables;
