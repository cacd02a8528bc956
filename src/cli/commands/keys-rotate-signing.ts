import type { Command } from 'commander';
import pino from 'pino';
import { loadSettings } from '../../config/index.js';
import { identityOf } from '../../identity/identity-service.js';
import { closeContext, createContext } from '../../server/create-context.js';
import { migrateToLatest } from '../../storage/index.js';
import { CliFailure, type CliIo } from '../cli-io.js';
import { EXIT } from '../exit-codes.js';

type Run = (work: () => Promise<number | void>) => Promise<void>;

/**
 * `warden keys rotate-signing`: adds a new JWT signing key of WARDEN_JWT_ALGORITHM; the previous
 * key stays published (and verifying) until every token it signed has expired, then it is retired.
 * Running instances pick the new key up within their reload interval or on the first unknown kid.
 */
export function addRotateSigningCommand(keysCommand: Command, io: CliIo, run: Run): void {
  keysCommand
    .command('rotate-signing')
    .description('add a new JWT signing key; the old one stays in the JWKS until its tokens have expired')
    .action(() =>
      run(async () => {
        const { settings } = loadSettings({ generateDevSecrets: false });
        if (settings.secretKey === undefined) throw new CliFailure('WARDEN_SECRET_KEY is not set: signing keys are sealed with it', EXIT.config);
        const context = createContext(settings, { logger: pino({ level: 'silent' }) });
        try {
          await migrateToLatest(context.storage);
          const identity = identityOf(context);
          await identity.initialise();
          const result = await identity.keys.rotate();
          await context.audit.record({
            action: 'signing_key.rotated',
            actor: 'system',
            entity_type: 'signing_key',
            entity_id: result.kid,
            outcome: 'success',
            details: { superseded: result.superseded, retired: result.retired, algorithm: settings.jwtAlgorithm },
          });
          io.out(`new signing key ${result.kid} (${settings.jwtAlgorithm}) is active`);
          if (result.superseded.length > 0) io.out(`still published until their tokens expire: ${result.superseded.join(', ')}`);
          if (result.retired.length > 0) io.out(`retired: ${result.retired.join(', ')}`);
          return EXIT.ok;
        } finally {
          await closeContext(context);
        }
      }),
    );
}
