import { identityOf } from '../identity/identity-service.js';
import { canonicalEmail } from '../identity/user-store.js';
import type { AppContext } from '../server/app-context.js';
import { CliFailure } from './cli-io.js';
import { EXIT } from './exit-codes.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** How a flag that names a user describes itself in `--help`. */
export const USER_REF_HELP = 'a user id (UUID) or email';

/**
 * The id of the user a `--user`/`--owner` flag names: a user id, or an email (what an operator
 * knows; ids are UUIDs and an email has an `@`, so neither can be taken for the other). The email
 * is found the way login finds it (canonical form, blind index). An unknown user is a CliFailure
 * (exit 1) that says which flag and what was looked up, with "User was not found" as the domain
 * says it; with `mustExist: false` an unknown id is returned as given (a list filter that
 * matches nothing).
 */
export async function resolveUserRef(context: AppContext, ref: string, flag: string, options: { mustExist?: boolean } = {}): Promise<string> {
  const identity = identityOf(context);
  if (UUID.test(ref)) {
    const id = ref.toLowerCase();
    if (options.mustExist !== false && (await identity.users.findById(id)) === undefined) {
      throw new CliFailure(`User was not found: ${flag} ${ref} is no user's id (${flag} takes ${USER_REF_HELP})`, EXIT.failure);
    }
    return id;
  }
  if (!ref.includes('@')) {
    throw new CliFailure(`User was not found: ${flag} ${ref} is neither a user id (UUID) nor an email`, EXIT.failure);
  }
  const row = await context.storage.db
    .selectFrom('users')
    .select('id')
    .where('email_lookup', '=', identity.users.emailLookup(canonicalEmail(ref)))
    .executeTakeFirst();
  if (row === undefined) throw new CliFailure(`User was not found: no user has the email ${ref} (${flag})`, EXIT.failure);
  return row.id;
}
