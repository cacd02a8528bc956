import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import { WardenError } from '../../errors/index.js';
import { identityOf, type IdentityService } from '../../identity/identity-service.js';
import { isDatabaseOutage } from '../../storage/index.js';
import { CliFailure, MAX_LINE_INPUT_BYTES, readInputFile, type CliIo } from '../cli-io.js';
import { shownFieldName } from '../../errors/shown-field-name.js';
import { EXIT } from '../exit-codes.js';
import { withServiceContext } from '../service-context.js';

type Run = (work: () => Promise<number | void>) => Promise<void>;
const SYSTEM = { actor: 'system', ip: undefined, userAgent: undefined } as const;

/** Runs `work` with the identity domain of a fully opened service context. */
function withIdentity<T>(io: CliIo, work: (identity: IdentityService) => Promise<T>): Promise<T> {
  return withServiceContext(io, (context) => work(identityOf(context)));
}

/** Reads a password without echo from the terminal, or the first line of piped stdin. Never from argv. */
async function readPassword(io: CliIo, prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    let text: string;
    try {
      // Strict: a lenient decode would turn each invalid byte into U+FFFD and store a password
      // other than the one piped in (from a Latin-1 file, or raw random bytes).
      text = new TextDecoder('utf-8', { fatal: true }).decode(await io.readStdin(MAX_LINE_INPUT_BYTES));
    } catch {
      throw new CliFailure('the password on stdin is not valid UTF-8', EXIT.dataError);
    }
    return text.split(/\r?\n/)[0] ?? '';
  }
  const muted = new Writable({ write: (_chunk, _enc, callback) => callback() });
  process.stderr.write(prompt);
  const rl = createInterface({ input: process.stdin, output: muted, terminal: true });
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve));
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

/** What is wrong with one line of an import file (reported with its number, and the import goes on). */
class LineProblem extends Error {}

/** The fields a line of `warden users import` may have. */
const IMPORT_FIELDS: ReadonlySet<string> = new Set(['email', 'password_hash', 'name', 'is_admin', 'is_active']);

/** `warden users create|import`. */

export function registerUsers(program: Command, io: CliIo, run: Run): void {
  const users = program.command('users').description('create and import users (passwords from stdin or a prompt, never argv)');
  users
    .command('create')
    .description('create a user; the password is read from stdin or prompted for (or generated with --generate-password)')
    .requiredOption('--email <email>', 'the user’s email')
    .option('--name <name>', 'display name')
    .option('--admin', 'make the user an administrator')
    .option('--generate-password', 'generate a strong password and print it once (it stays valid until changed with POST /v1/auth/password)')
    .action((options: { email: string; name?: string; admin?: boolean; generatePassword?: boolean }) =>
      run(async () => {
        const password = options.generatePassword === true ? randomBytes(18).toString('base64url') : await readPassword(io, 'Password: ');
        if (password === '') throw new CliFailure('no password given on stdin', EXIT.usage);
        return withIdentity(io, async (identity) => {
          try {
            const user = await identity.userAdmin.create({ email: options.email, password, name: options.name ?? null, isAdmin: options.admin === true }, SYSTEM);
            io.out(`created user ${user.id} <${user.email}>${user.isAdmin ? ' (admin)' : ''}`);
            if (options.generatePassword === true) {
              // Shown once, but reusable until changed: "one-time" would suggest it expires by itself.
              io.out(`password (generated, shown only this once): ${password}`);
              io.err('It stays valid until changed: after the first login, change it with POST /v1/auth/password.');
            }
            return EXIT.ok;
          } catch (error) {
            if (error instanceof WardenError) throw new CliFailure(error.message, error.code === 'email_taken' ? EXIT.failure : EXIT.dataError);
            throw error;
          }
        });
      }),
    );
  users
    .command('import')
    .argument('<file>', 'JSON Lines: {"email", "password_hash", "name"?, "is_admin"?, "is_active"?} per line')
    .description('import users with existing bcrypt / PBKDF2-SHA256 / scrypt / argon2 hashes (re-hashed to argon2id at their next login)')
    .action((file: string) =>
      run(async () => {
        // Numbered before blank lines are dropped: a problem names the line an editor shows.
        const lines = readInputFile(file)
          .split(/\r?\n/)
          .map((line, index) => ({ line, number: index + 1 }))
          .filter(({ line }) => line.trim() !== '');
        return withIdentity(io, async (identity) => {
          let imported = 0;
          const problems: string[] = [];
          for (const { line, number } of lines) {
            try {
              let fields: Record<string, unknown>;
              try {
                fields = JSON.parse(line) as Record<string, unknown>;
              } catch {
                // JSON.parse's message quotes the input, which holds a password hash.
                throw new LineProblem('not valid JSON');
              }
              if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) throw new LineProblem('is not a JSON object');
              if (typeof fields.email !== 'string' || typeof fields.password_hash !== 'string') throw new LineProblem('needs "email" and "password_hash" strings');
              // An export that quotes its booleans ("is_active": "false") or misspells a field
              // would otherwise import an active account that was meant to be dormant.
              const unknown = Object.keys(fields).filter((key) => !IMPORT_FIELDS.has(key));
              if (unknown.length > 0) throw new LineProblem(`has unknown fields (${unknown.map(shownFieldName).join(', ')}); known: ${[...IMPORT_FIELDS].join(', ')}`);
              for (const flag of ['is_admin', 'is_active'] as const) {
                if (fields[flag] !== undefined && typeof fields[flag] !== 'boolean') throw new LineProblem(`"${flag}" must be true or false (a JSON boolean)`);
              }
              if (fields.name !== undefined && fields.name !== null && typeof fields.name !== 'string') throw new LineProblem('"name" must be a string');
              await identity.userAdmin.importWithHash(
                {
                  email: fields.email,
                  passwordHash: fields.password_hash,
                  name: typeof fields.name === 'string' ? fields.name : null,
                  isAdmin: fields.is_admin === true,
                  isActive: fields.is_active !== false,
                },
                SYSTEM,
              );
              imported += 1;
            } catch (error) {
              // A database that fails is no problem of the line: stop (exit 69), rather than
              // call every remaining line invalid.
              if (isDatabaseOutage(error)) throw error;
              // Only the line number and reason: never the line itself (it holds a hash), nor a
              // driver's message about it (which may quote it).
              const reason = error instanceof LineProblem || error instanceof WardenError ? error.message : 'the database refused it';
              problems.push(`line ${number}: ${reason}`);
            }
          }
          io.out(`imported ${imported} of ${lines.length} users`);
          for (const problem of problems) io.err(`  ${problem}`);
          return problems.length === 0 ? EXIT.ok : EXIT.dataError;
        });
      }),
    );
}
