import type { Command } from 'commander';
import { NotFoundError } from '../../errors/index.js';
import type { AuthzActor, AuthzService } from '../../authz/authz-service.js';
import { isScope } from '../../authz/names.js';
import type { AppContext } from '../../server/app-context.js';
import { CliFailure, type CliIo } from '../cli-io.js';
import { EXIT } from '../exit-codes.js';
import { withServiceContext } from '../service-context.js';
import { resolveUserRef, USER_REF_HELP } from '../user-ref.js';

type Run = (work: () => Promise<number | void>) => Promise<void>;

/**
 * The operator at the console holds everything (they can already edit the database); audit
 * events name them `system`.
 */
const OPERATOR: AuthzActor = {
  principal: { kind: 'client', subject: 'system', permissions: ['*:*'], credentialId: 'cli' },
  auditActor: 'system',
};

/** Runs `work` with the authorization domain of a fully opened service context. */
function withAuthz<T>(io: CliIo, work: (authz: AuthzService, context: AppContext) => Promise<T>): Promise<T> {
  return withServiceContext(io, (context) => {
    if (context.authz === undefined) throw new CliFailure('authorization is not wired', EXIT.failure);
    return work(context.authz, context);
  });
}

/** Refuses an unknown role by name (the domain's "Role was not found" does not say which). */
async function requireRole(authz: AuthzService, name: string): Promise<void> {
  if (!(await authz.listRoles()).some((role) => role.name === name)) {
    throw new CliFailure(`Role was not found: there is no role named "${name}" (warden roles list shows them)`, EXIT.failure);
  }
}

/** The options naming one membership: `--user`, `--role`, `--scope` (grant and revoke). */
function membershipOptions(command: Command): Command {
  return command
    .requiredOption('--user <user>', `the user: ${USER_REF_HELP}`)
    .requiredOption('--role <name>', 'role name')
    .option('--scope <scope>', 'organisation/tenant id (default: global)');
}

/** `warden roles list|grant|revoke|permissions`. */
export function registerRoles(program: Command, io: CliIo, run: Run): void {
  const roles = program.command('roles').description('list roles; grant and revoke roles (memberships); show effective permissions');
  roles
    .command('list')
    .description('list roles with their permissions and parents')
    .action(() =>
      run(async () =>
        withAuthz(io, async (authz) => {
          for (const role of await authz.listRoles()) {
            const parents = role.inherits.length === 0 ? '' : `  inherits ${role.inherits.join(',')}`;
            io.out(`${role.name}${role.builtin ? ' (built-in)' : ''}  ${role.permissions.join(',') || '-'}${parents}`);
          }
          return EXIT.ok;
        }),
      ),
    );
  membershipOptions(roles.command('grant'))
    .description('give a user a role, globally or within --scope')
    .action((options: { user: string; role: string; scope?: string }) =>
      run(async () =>
        withAuthz(io, async (authz, context) => {
          const userId = await resolveUserRef(context, options.user, '--user');
          await requireRole(authz, options.role);
          const added = await authz.assignRole(OPERATOR, { userId, role: options.role, scope: options.scope });
          const who = userText(options.user, userId);
          io.out(added ? `granted ${options.role} to ${who}${scopeText(options.scope)}` : `${who} already holds ${options.role}${scopeText(options.scope)}`);
          return EXIT.ok;
        }),
      ),
    );
  membershipOptions(roles.command('revoke'))
    .description('take a role away from a user (the same scope it was granted in)')
    .action((options: { user: string; role: string; scope?: string }) =>
      run(async () =>
        withAuthz(io, async (authz, context) => {
          const userId = await resolveUserRef(context, options.user, '--user');
          await requireRole(authz, options.role);
          const who = userText(options.user, userId);
          try {
            await authz.removeRole(OPERATOR, { userId, role: options.role, scope: options.scope });
          } catch (error) {
            // User and role exist (checked above): what is missing is the membership.
            if (error instanceof NotFoundError) throw new CliFailure(`Membership was not found: ${who} does not hold ${options.role}${scopeText(options.scope)}`, EXIT.failure);
            throw error;
          }
          io.out(`revoked ${options.role} from ${who}${scopeText(options.scope)}`);
          return EXIT.ok;
        }),
      ),
    );
  roles
    .command('permissions')
    .description("print a user's effective permissions and where each comes from")
    .requiredOption('--user <user>', `the user: ${USER_REF_HELP}`)
    .option('--scope <scope>', 'organisation/tenant id (default: global memberships only)')
    .action((options: { user: string; scope?: string }) =>
      run(async () => {
        // As grant/revoke and the API refuse it: a typo ("acme ") would print the global grants
        // only, which reads as "holds nothing in acme".
        if (options.scope !== undefined && !isScope(options.scope)) throw new CliFailure('--scope must be 1–128 characters of A-Z a-z 0-9 _ . : -', EXIT.usage);
        return withAuthz(io, async (authz, context) => {
          const userId = await resolveUserRef(context, options.user, '--user');
          for (const grant of await authz.grants(userId, options.scope)) {
            io.out(`${grant.permission}  ${grant.source === 'is_admin' ? 'is_admin' : `role ${grant.via.join(' > ')}`}${scopeText(grant.scope)}`);
          }
          return EXIT.ok;
        });
      }),
    );
}

/** The user as the operator named them, with the id when they gave an email. */
function userText(given: string, id: string): string {
  return given.trim().toLowerCase() === id ? id : `${given.trim()} (${id})`;
}

function scopeText(scope: string | undefined): string {
  return scope === undefined ? '' : ` in scope ${scope}`;
}
