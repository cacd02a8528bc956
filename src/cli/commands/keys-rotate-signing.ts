import type { Command } from 'commander';
import { identityOf } from '../../identity/identity-service.js';
import { CliFailure, type CliIo } from '../cli-io.js';
import { EXIT } from '../exit-codes.js';
import { withServiceContext } from '../service-context.js';

type Run = (work: () => Promise<number | void>) => Promise<void>;

/**
 * `warden keys rotate-signing`: adds a new JWT signing key of WARDEN_JWT_ALGORITHM; the previous
 * key stays published (and verifying) until every token it signed has expired, then it is retired.
 * Running instances pick the new key up at once through the invalidation bus (Redis), else within
 * their 30 s reload interval. `--retire-previous` ends the old keys at once (a leaked key); when
 * the bus cannot publish, that is said on stderr, and with keys retired the exit code is 1.
 */
export function addRotateSigningCommand(keysCommand: Command, io: CliIo, run: Run): void {
  keysCommand
    .command('rotate-signing')
    .description('add a new JWT signing key; the old one stays in the JWKS until its tokens have expired')
    .option('--retire-previous', 'retire the previous keys at once (a leaked key): every token they signed stops verifying')
    .option('--change-algorithm', 'allow the new key to have another algorithm than the current one (WARDEN_JWT_ALGORITHM)')
    .action((flags: { retirePrevious?: boolean; changeAlgorithm?: boolean }) =>
      run(() =>
        withServiceContext(io, async (context) => {
          const { settings } = context;
          const identity = identityOf(context);
          const retirePrevious = flags.retirePrevious === true;
          // A shell without the service's WARDEN_JWT_ALGORITHM must not switch every instance's algorithm.
          const current = identity.keys.currentAlgorithm();
          if (current !== undefined && current !== settings.jwtAlgorithm && flags.changeAlgorithm !== true) {
            throw new CliFailure(
              `the current signing key is ${current} but WARDEN_JWT_ALGORITHM is ${settings.jwtAlgorithm}: set it to ${current}, or pass --change-algorithm to switch (then restart every instance with the new value)`,
              EXIT.config,
            );
          }
          const result = await identity.keys.rotate({ retirePrevious });
          await context.audit.record({
            action: 'signing_key.rotated',
            actor: 'system',
            entity_type: 'signing_key',
            entity_id: result.kid,
            outcome: 'success',
            details: { superseded: result.superseded, retired: result.retired, algorithm: settings.jwtAlgorithm, retire_previous: retirePrevious },
          });
          io.out(`new signing key ${result.kid} (${settings.jwtAlgorithm}) is active`);
          const graced = result.superseded.filter((kid) => !result.retired.includes(kid));
          if (graced.length > 0) io.out(`still published until their tokens expire: ${graced.join(', ')}`);
          if (result.retired.length > 0) io.out(`retired: ${result.retired.join(', ')}`);
          if (!result.announced) {
            // Retiring a leaked key is the case where "within 30 s" is worth a non-zero exit.
            io.err(
              `running instances were not told (the invalidation bus could not publish); they pick the new key up${result.retired.length > 0 ? ' and stop trusting the retired ones' : ''} at their next reload, within 30 s`,
            );
            return result.retired.length > 0 ? EXIT.failure : EXIT.ok;
          }
          return EXIT.ok;
        }),
      ),
    );
}
