import type { Command } from 'commander';
import { describeSettings, loadSettings, productionProblems, productionWarnings } from '../../config/index.js';
import { issuerIsUrl } from '../../config/issuer-url.js';
import { resolveServiceSecrets } from '../../secrets/resolve-service-secrets.js';
import type { CliIo } from '../cli-io.js';
import { EXIT } from '../exit-codes.js';

/** Said when tokens' iss and the OAuth metadata's issuer cannot agree (docs/oauth.md). */
const ISSUER_NOT_URL =
  "WARDEN_JWT_ISSUER is not a URL: the OAuth metadata (/.well-known/oauth-authorization-server) then names the request's base URL as issuer, which differs from the tokens' iss, so verifiers set up by discovery refuse them; set it to the public base URL, e.g. https://auth.example.com";

/** `warden config check`: the effective settings (secrets masked), every production problem and warning. */
export function registerConfigCheck(program: Command, io: CliIo, run: (work: () => Promise<number | void>) => Promise<void>): void {
  const config = program.command('config').description('inspect the configuration');
  config
    .command('check')
    .description('print the effective settings with secrets masked, and every problem that production would refuse with the same variables and files (in any profile)')
    .option('--env-file <path>', 'read this .env file instead of ./.env')
    .action((options: { envFile?: string }) =>
      run(async () => {
        // The secrets the service would fetch from WARDEN_SECRETS_PROVIDER (Vault, AWS…), so that
        // a key held there is not reported missing. Never generate secrets from a read-only
        // check, but show the one development uses. What the profile refuses is listed below
        // with the settings, not thrown: only values that cannot be parsed at all stop the check (exit 78).
        const providerSecrets = await resolveServiceSecrets(options.envFile === undefined ? {} : { envFile: options.envFile });
        const loaded = loadSettings({
          providerSecrets,
          generateDevSecrets: false,
          readDevSecrets: true,
          refuseUnsafe: false,
          ...(options.envFile === undefined ? {} : { envFile: options.envFile }),
        });
        const rows = describeSettings(loaded.settings, loaded.sources);
        const width = Math.max(...rows.map((r) => r.name.length));
        io.out(`profile: ${loaded.settings.env}`);
        for (const row of rows) io.out(`${row.name.padEnd(width)}  ${row.value}  [${row.source}]`);
        // The production check judges what production would run with: the same variables, files
        // and provider secrets with WARDEN_ENV=production. That differs from this profile's
        // settings: development's generated dev-secrets.json is never read there (so the key it
        // holds is "missing"), and some defaults depend on the profile (rate-limit failure policy).
        const asProduction =
          loaded.settings.env === 'production'
            ? loaded.settings
            : loadSettings({
                args: { WARDEN_ENV: 'production' },
                providerSecrets,
                generateDevSecrets: false,
                readDevSecrets: false,
                refuseUnsafe: false,
                ...(options.envFile === undefined ? {} : { envFile: options.envFile }),
              }).settings;
        if (loaded.settings.env !== 'production') {
          const devSecrets = loaded.settings.env === 'development' ? ' (it never reads the generated dev-secrets.json)' : '';
          io.out(`production check: judged as WARDEN_ENV=production would load the same variables and files${devSecrets}`);
        }
        // Risks staging and production start with, printed as a warning there; never a failure here.
        for (const warning of productionWarnings(asProduction, process.env.PGSSLMODE)) io.out(`production warning: ${warning}`);
        // Here rather than at every start: it matters once OAuth discovery is used, and an
        // operator reading this output is setting up exactly that.
        if (!issuerIsUrl(asProduction.jwtIssuer)) io.out(`production warning: ${ISSUER_NOT_URL}`);
        const problems = productionProblems(asProduction);
        if (problems.length === 0) {
          io.out('production check: no problems');
          return EXIT.ok;
        }
        io.out(`production check: ${problems.length} problem(s)`);
        for (const problem of problems) io.out(`  - ${problem}`);
        // Advice in development; in staging and production the service warns or refuses to start.
        return loaded.settings.env === 'development' ? EXIT.ok : EXIT.failure;
      }),
    );
}
