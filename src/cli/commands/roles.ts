import type { Command } from 'commander';
import type { AuthzActor, AuthzService } from '../../authz/authz-service.js';
import { CliFailure, type CliIo } from '../cli-io.js';
import { EXIT } from '../exit-codes.js';
import { withServiceContext } from '../service-context.js';

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
function withAuthz<T>(io: CliIo, work: (authz: AuthzService) => Promise<T>): Promise<T> {
  return withServiceContext(io, (context) => {
    if (context.authz === undefined) throw new CliFailure('authorization is not wired', EXIT.failure);
    return work(context.authz);
  });
}

/** The options naming one membership: `--user`, `--role`, `--scope` (grant and revoke). */
function membershipOptions(command: Command): Command {
  return command
    .requiredOption('--user <id>', 'user id')
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
        withAuthz(io, async (authz) => {
          const added = await authz.assignRole(OPERATOR, { userId: options.user, role: options.role, scope: options.scope });
          io.out(added ? `granted ${options.role} to ${options.user}${scopeText(options.scope)}` : `${options.user} already holds ${options.role}${scopeText(options.scope)}`);
          return EXIT.ok;
        }),
      ),
    );
  membershipOptions(roles.command('revoke'))
    .description('take a role away from a user (the same scope it was granted in)')
    .action((options: { user: string; role: string; scope?: string }) =>
      run(async () =>
        withAuthz(io, async (authz) => {
          await authz.removeRole(OPERATOR, { userId: options.user, role: options.role, scope: options.scope });
          io.out(`revoked ${options.role} from ${options.user}${scopeText(options.scope)}`);
          return EXIT.ok;
        }),
      ),
    );
  roles
    .command('permissions')
    .description("print a user's effective permissions and where each comes from")
    .requiredOption('--user <id>', 'user id')
    .option('--scope <scope>', 'organisation/tenant id (default: global memberships only)')
    .action((options: { user: string; scope?: string }) =>
      run(async () =>
        withAuthz(io, async (authz) => {
          await authz.memberships(options.user); // not_found for an unknown user
          for (const grant of await authz.grants(options.user, options.scope)) {
            io.out(`${grant.permission}  ${grant.source === 'is_admin' ? 'is_admin' : `role ${grant.via.join(' > ')}`}${scopeText(grant.scope)}`);
          }
          return EXIT.ok;
        }),
      ),
    );
}

function scopeText(scope: string | undefined): string {
  return scope === undefined ? '' : ` in scope ${scope}`;
}
