import type { WardenMigration } from '../migration.js';
import { migration0001Core } from './0001_core.js';
import { migration0002Users } from './0002_users.js';
import { migration0003Audit } from './0003_audit.js';
import { migration0004Identity } from './0004_identity.js';
import { migration0005Authz } from './0005_authz.js';
import { migration0006ApiKeys } from './0006_apikeys.js';
import { migration0008OAuthClients } from './0008_oauth_clients.js';
import { migration0009ApiKeyImportFingerprint } from './0009_apikey_import_fingerprint.js';
import { migration0010AuditHeadSeal } from './0010_audit_head_seal.js';
import { migration0011ApiKeyDisableLock } from './0011_apikey_disable_lock.js';
import { migration0012ListingAndExpiryIndexes } from './0012_listing_and_expiry_indexes.js';

/** Every migration, in the order they apply. Append new ones at the end; never edit an applied one. */
export const MIGRATIONS: readonly WardenMigration[] = [
  migration0001Core,
  migration0002Users,
  migration0003Audit,
  migration0004Identity,
  migration0005Authz,
  migration0006ApiKeys,
  // There is no 0007: it was never released, and a number is never reused, since a database
  // that once recorded a name must never find another migration under it. Do not renumber.
  migration0008OAuthClients,
  migration0009ApiKeyImportFingerprint,
  migration0010AuditHeadSeal,
  migration0011ApiKeyDisableLock,
  migration0012ListingAndExpiryIndexes,
];
