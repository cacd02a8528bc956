// Warden's real app (dist/) on a throw-away SQLite database for the identity benchmark: creates
// a user, writes one access token and BENCH_TOKEN_COUNT fresh tokens (for the "new token on
// every request" case) to BENCH_TOKENS_FILE, and adds a bench-only route guarded by the
// permission reports:read, which the user holds through a role (JWT guard + revocation +
// user-status check + permission check, no handler work).
import { writeFileSync } from 'node:fs';
import { identityOf } from '../../dist/identity/identity-service.js';
import { listenForBench, openBenchContext } from '../lib/warden-bench-server.mjs';

// The per-IP login limit would stop one load generator at once; the account throttle stays on.
const context = await openBenchContext('identity', { WARDEN_RATELIMIT_AUTH: 'off' });
const identity = identityOf(context);
await identity.initialise();
const user = await identity.userAdmin.create({ email: 'bench@example.test', password: 'violet-harbour-quietly-92' }, { actor: 'system' });
const system = { principal: { kind: 'client', subject: 'system', permissions: ['*:*'], credentialId: 'bench' }, auditActor: 'system' };
await context.authz.createRole(system, { name: 'bench-reader', permissions: ['reports:read'] });
await context.authz.assignRole(system, { userId: user.id, role: 'bench-reader' });
const tokens = [];
// Four times the verifier's cache (10,000 entries): cycling through them, every token has been
// evicted before it comes round again, so "a new token on every request" really verifies each.
for (let i = 0; i < Number(process.env.BENCH_TOKEN_COUNT ?? 40_000); i++) tokens.push((await identity.issuer.issue({ userId: user.id, sessionId: 'bench' })).token);
writeFileSync(process.env.BENCH_TOKENS_FILE, JSON.stringify({ tokens, email: 'bench@example.test', password: 'violet-harbour-quietly-92' }), { mode: 0o600 });

await listenForBench(context, async (app) => {
  app.get('/bench/jwt', { config: { permission: 'reports:read' } }, async () => ({ ok: true }));
});
