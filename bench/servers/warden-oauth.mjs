// Warden's real app (dist/) on a throw-away SQLite database for the OAuth benchmark: creates
// an admin owner and one OAuth client (scopes keys:read, reports:read) through the services,
// and writes its client_id and secret to BENCH_CLIENT_FILE. The per-IP auth-route limit is off
// (one load generator would hit `20/60s` at once); the failure throttle stays on, and only
// successful grants are driven, so it checks and resets but never counts.
import { writeFileSync } from 'node:fs';
import { identityOf } from '../../dist/identity/identity-service.js';
import { oauthOf } from '../../dist/oauth/oauth-domain.js';
import { insertBenchAdmin, listenForBench, openBenchContext } from '../lib/warden-bench-server.mjs';

const context = await openBenchContext('oauth', { WARDEN_RATELIMIT_AUTH: 'off' });
await identityOf(context).initialise();
// An admin owner, inserted directly as the API-key bench does: the owner's effective
// permissions must cover the client's scopes.
const ownerId = await insertBenchAdmin(context);
const { client, secret } = await oauthOf(context).clients.create({ name: 'bench-service', ownerId, scopes: ['keys:read', 'reports:read'] }, { actor: 'system' });
writeFileSync(process.env.BENCH_CLIENT_FILE, JSON.stringify({ clientId: client.client_id, secret }), { mode: 0o600 });

await listenForBench(context, async () => undefined);
