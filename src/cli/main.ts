import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { processIo, reportError, stdoutDelivered, tolerateClosedStdout, type CliIo } from './cli-io.js';
import { registerAudit } from './commands/audit.js';
import { registerClients } from './commands/clients.js';
import { registerConfigCheck } from './commands/config-check.js';
import { registerCrypto } from './commands/crypto.js';
import { registerKeys } from './commands/keys.js';
import { registerMigrate } from './commands/migrate.js';
import { registerSecrets } from './commands/secrets.js';
import { registerServe } from './commands/serve.js';
import { registerRedact } from './commands/redact.js';
import { registerRoles } from './commands/roles.js';
import { registerUsers } from './commands/users.js';
import { EXIT } from './exit-codes.js';

/** A command registrar: adds one command (or group) to the program. */
export type RegisterCommand = (program: Command, io: CliIo, run: (work: () => Promise<number | void>) => Promise<void>) => void;

/** Every command of the CLI. Domains append theirs here. */
export const COMMANDS: readonly RegisterCommand[] = [registerServe, registerMigrate, registerConfigCheck, registerCrypto, registerSecrets, registerAudit, registerKeys, registerRedact, registerUsers, registerRoles, registerClients];

/**
 * Warden's own version, from its package.json (two levels up from src/cli and dist/cli alike):
 * npm_package_version is the version of whichever project's `npm run` started the CLI.
 */
function wardenVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof manifest.version === 'string' ? manifest.version : 'unknown';
}

/** Builds the `warden` program; `setExit` receives the exit code of whatever ran. */
export function buildProgram(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command('warden')
    .description('Warden: users, tokens, API keys, roles, rate limits and audit for HTTP APIs')
    .version(wardenVersion())
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    // Commander echoes an unknown option whole: `--password=hunter2` typed by mistake would put
    // the value on stderr (and into CI logs). The flag is named, its value is not.
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd().replace(/(--?[A-Za-z][\w-]*)=[^'\s]*/g, '$1=…')) });
  const run = async (work: () => Promise<number | void>): Promise<void> => {
    try {
      setExit((await work()) ?? EXIT.ok);
    } catch (error) {
      setExit(reportError(error, io));
    }
  };
  for (const register of COMMANDS) register(program, io, run);
  program.commands.forEach((command) => command.exitOverride());
  return program;
}

/** Runs the CLI with argv and exits with the command's code. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<void> {
  if (io === processIo) tolerateClosedStdout();
  const code = await runCli(argv, io);
  // A command that finished while its output was still queued has not delivered it.
  process.exitCode = code === EXIT.ok && io === processIo && !(await stdoutDelivered()) ? EXIT.brokenPipe : code;
}

/** Runs the CLI and returns the exit code instead of exiting (for tests). */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
      // Help shown because a command group was given no subcommand (`warden keys`, an empty
      // $SUBCMD in a script) is a usage error; `warden help keys` asked for it.
      if (error.code === 'commander.help') return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return EXIT.usage;
    }
    return reportError(error, io);
  }
  return exitCode;
}
