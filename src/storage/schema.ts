import type { ApiKeyTables } from '../apikeys/apikey-tables.js';
import type { AuditTables } from '../audit/audit-tables.js';
import type { AuthzTables } from '../authz/authz-tables.js';
import type { IdentityTables } from '../identity/identity-tables.js';
import type { UserTables } from '../identity/user-tables.js';
import type { OAuthClientTables } from '../oauth/oauth-client-tables.js';
import type { CoreTables } from './core-tables.js';

/**
 * The whole database as Kysely sees it: the intersection of every domain's tables. A domain
 * adds its tables by extending this type with its own `*Tables` interface.
 */
export type DatabaseSchema = CoreTables & UserTables & IdentityTables & ApiKeyTables & AuthzTables & AuditTables & OAuthClientTables;
