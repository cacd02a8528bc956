import type { Command } from 'commander';
import { oauthOf } from '../../oauth/oauth-domain.js';
import { clientView } from '../../oauth/client-view.js';
import type { OAuthClient } from '../../oauth/oauth-client-service.js';
import { CliFailure, type CliIo } from '../cli-io.js';
import { cursorFlag } from '../cursor-flag.js';
import { durationFlag } from '../duration-flag.js';
import { EXIT } from '../exit-codes.js';
import { withServiceContext } from '../service-context.js';
import { resolveUserRef, USER_REF_HELP } from '../user-ref.js';

type Run = (work: () => Promise<number | void>) => Promise<void>;
const CLI_ACTOR = { actor: 'system:cli' };

function describe(client: OAuthClient): string {
  const state = client.revoked_at !== null ? 'revoked' : client.expires_at !== null && client.expires_at <= Date.now() ? 'expired' : 'active';
  return `${client.client_id}  ${state.padEnd(7)}  ${client.name}  owner=${client.owner_id}  scopes=${client.scopes.join(' ') || '(none)'}`;
}

/** `warden clients create|list|show|rotate|revoke`: OAuth 2.0 clients; the secret is printed only at creation and rotation. */
export function registerClients(program: Command, io: CliIo, run: Run): void {
  const clients = program.command('clients').description('manage OAuth 2.0 clients (client-credentials grant)');
  clients
    .command('create')
    .description('create a client; prints client_id and the secret once')
    .requiredOption('--name <name>', 'a label for the client')
    .requiredOption('--owner <user>', `the user who owns and manages the client (${USER_REF_HELP}); the client is its own principal, and its scopes are capped by what this user holds`)
    .option('--scope <permission...>', 'permissions the client may request, e.g. keys:read', [])
    .option('--expires-in <duration>', 'expire the client after this long (e.g. 90d)')
    .action((options: { name: string; owner: string; scope: string[]; expiresIn?: string }) =>
      run(() => {
        // Checked before the database is opened; 0 would create a client that never works.
        const lifetime = options.expiresIn === undefined ? undefined : durationFlag(options.expiresIn, '--expires-in');
        if (lifetime === 0) throw new CliFailure('--expires-in must be longer than 0', EXIT.usage);
        return withServiceContext(io, async (context) => {
          const expiresAt = lifetime === undefined ? null : Date.now() + lifetime;
          const ownerId = await resolveUserRef(context, options.owner, '--owner');
          const { client, secret } = await oauthOf(context).clients.create({ name: options.name, ownerId, scopes: options.scope, expiresAt }, CLI_ACTOR);
          io.out(`client_id=${client.client_id}`);
          io.out(`client_secret=${secret}`);
          io.err('Store the secret now: it is not shown again.');
          return EXIT.ok;
        });
      }),
    );
  clients
    .command('list')
    .description('list clients, newest first (never secrets); the next page’s cursor goes to stderr')
    .option('--owner <user>', `only this owner’s clients (${USER_REF_HELP})`)
    .option('--limit <n>', 'clients per page (1-200)', '50')
    .option('--cursor <cursor>', 'the next cursor printed by the previous page')
    .action((options: { owner?: string; limit: string; cursor?: string }) =>
      run(() => {
        const limit = /^[0-9]+$/.test(options.limit) ? Number(options.limit) : Number.NaN;
        if (!(limit >= 1 && limit <= 200)) throw new CliFailure('--limit must be an integer from 1 to 200', EXIT.usage);
        const cursor = cursorFlag(options.cursor, 'c', 'clients list');
        return withServiceContext(io, async (context) => {
          // An unknown id lists nothing, as before; an email must name a user to filter by.
          const ownerId = options.owner === undefined ? undefined : await resolveUserRef(context, options.owner, '--owner', { mustExist: false });
          const page = await oauthOf(context).clients.list({ ownerId, limit, cursor });
          for (const client of page.data) io.out(describe(client));
          if (page.next_cursor !== null) io.err(`next cursor: ${page.next_cursor}`);
          return EXIT.ok;
        });
      }),
    );
  clients
    .command('show <client-id>')
    .description('show one client as JSON (never the secret)')
    .action((clientId: string) =>
      run(() =>
        withServiceContext(io, async (context) => {
          // The HTTP form (ISO 8601 times), as GET /v1/clients/{id} shows it.
          io.out(JSON.stringify(clientView(await oauthOf(context).clients.get(clientId)), null, 2));
          return EXIT.ok;
        }),
      ),
    );
  clients
    .command('rotate <client-id>')
    .description('issue a new secret; the old one keeps working for the grace period')
    .option('--grace <duration>', 'how long the old secret keeps working (0 = stops now)', '24h')
    .action((clientId: string, options: { grace: string }) =>
      run(() => {
        const graceMs = durationFlag(options.grace, '--grace', { maxMs: 30 * 86_400_000, maxText: '30d' }); // as POST /v1/clients/{id}/rotate
        return withServiceContext(io, async (context) => {
          const { secret } = await oauthOf(context).clients.rotate(clientId, graceMs, CLI_ACTOR);
          io.out(`client_secret=${secret}`);
          return EXIT.ok;
        });
      }),
    );
  clients
    .command('revoke <client-id>')
    .description('revoke a client at once: its secret and its tokens stop working')
    .action((clientId: string) =>
      run(() =>
        withServiceContext(io, async (context) => {
          const client = await oauthOf(context).clients.revoke(clientId, CLI_ACTOR);
          io.out(describe(client));
          return EXIT.ok;
        }),
      ),
    );
}
