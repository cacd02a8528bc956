import type { Command } from 'commander';
import { identityOf } from '../../identity/identity-service.js';
import type { CliIo } from '../cli-io.js';
import { EXIT } from '../exit-codes.js';
import { withServiceContext } from '../service-context.js';

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
      run(() =>
        withServiceContext(async (context) => {
          const { settings } = context;
          const identity = identityOf(context);
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
        }),
      ),
    );
}
