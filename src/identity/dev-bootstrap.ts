import { randomBytes } from 'node:crypto';
import type { IdentityService } from './identity-service.js';

/** The first admin's email in the development profile. */
export const DEV_ADMIN_EMAIL = 'admin@warden.localhost';

/**
 * Development only: when no admin exists, creates one with a random password and returns the
 * credentials so the caller can print them once (they are never logged or stored in clear).
 */
export async function bootstrapDevAdmin(identity: IdentityService): Promise<{ email: string; password: string } | undefined> {
  // Checked here too, not only by the caller: an admin with a printed password in staging or
  // production would be a backdoor, so a wrong call site must fail rather than create it.
  if (identity.environment !== 'development') throw new Error(`the development admin is never created in the ${identity.environment} profile`);
  if (await identity.users.hasAdmin()) return undefined;
  const password = randomBytes(18).toString('base64url');
  await identity.userAdmin.create({ email: DEV_ADMIN_EMAIL, password, name: 'Development admin', isAdmin: true }, { actor: 'system', ip: undefined, userAgent: undefined });
  return { email: DEV_ADMIN_EMAIL, password };
}
