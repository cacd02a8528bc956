import pino from 'pino';
import { identityOf } from '../identity/identity-service.js';
import type { AppContext } from '../server/app-context.js';
import { closeContext, createContext } from '../server/create-context.js';
import { withCheckedDatabase } from '../server/secret-key-check.js';
import { CliFailure, type CliIo } from './cli-io.js';
import { loadCliSettings } from './cli-settings.js';
import { EXIT } from './exit-codes.js';

/**
 * Opens the service's full context for one CLI command — the same settings and secrets (in
 * development the generated `dev-secrets.json`, see loadCliSettings), database, audit log,
 * invalidation bus and domains as `warden serve`, migrated, signing keys loaded — runs `work`,
 * and closes everything (flushing audit and usage buffers) even when it throws.
 */
export async function withServiceContext<T>(io: Pick<CliIo, 'err'>, work: (context: AppContext) => Promise<T>): Promise<T> {
  const { settings } = await loadCliSettings(io, { devSecrets: 'generate' });
  // Not expected: development generates one, staging and production refuse to load without it.
  if (settings.secretKey === undefined) {
    throw new CliFailure('WARDEN_SECRET_KEY is not set: hashes, indexes and signing keys derive from it', EXIT.config);
  }
  // Checked on a connection of its own, before the context exists: closing a context writes a
  // head checkpoint signed with its key, so even a refusal must not have opened one with a
  // foreign key (verification would then fail forever with checkpoint_signature_invalid).
  await withCheckedDatabase(settings, settings.secretKey, async () => undefined, { migrate: true, warn: (line) => io.err(`warden: warning: ${line}`) });
  const context = createContext(settings, { logger: pino({ level: 'silent' }) });
  try {
    // Signs nothing: never creates or rotates a signing key (`keys rotate-signing` rotates on purpose).
    await identityOf(context).initialise({ createIfMissing: false });
    return await work(context);
  } finally {
    await closeContext(context);
  }
}
