import path from 'node:path';
import { vi } from 'vitest';
import type { CliIo } from '../../src/cli/cli-io.js';
import { runCli } from '../../src/cli/main.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';

export interface Run {
  readonly code: number;
  readonly out: string[];
  readonly err: string[];
}

/** The CLI in-process against the SQLite database in `dir`, with `stdin` as piped input. */
export async function cli(
  dir: string,
  args: readonly string[],
  stdin: string | Buffer = '',
  env: Record<string, string> = {},
): Promise<Run> {
  const fixed: Record<string, string> = {
    WARDEN_ENV: 'development',
    WARDEN_DATABASE_URL: `sqlite:${path.join(dir, 'warden.db')}`,
    WARDEN_DATA_DIR: dir,
    WARDEN_DOTENV_FILE: '/dev/null',
    WARDEN_LOG_LEVEL: 'silent',
    WARDEN_SECRETS_PROVIDER: 'env',
    WARDEN_SECRET_KEY: TEST_SECRET_KEY,
    ...env,
  };
  for (const [name, value] of Object.entries(fixed)) vi.stubEnv(name, value);
  const out: string[] = [];
  const err: string[] = [];
  const input = typeof stdin === 'string' ? Buffer.from(stdin) : stdin;
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), readStdin: async () => input };
  const code = await runCli(['node', 'warden', ...args], io);
  return { code, out, err };
}

/** Creates a user holding the `reader` role (`*:read`); returns its id. */
export async function readerUser(dir: string, email: string): Promise<string> {
  const created = await cli(dir, ['users', 'create', '--email', email, '--generate-password']);
  if (created.code !== 0) throw new Error(created.err.join('\n'));
  const id = /^created user (\S+) </.exec(created.out[0] ?? '')?.[1] as string;
  const granted = await cli(dir, ['roles', 'grant', '--user', id, '--role', 'reader']);
  if (granted.code !== 0) throw new Error(granted.err.join('\n'));
  return id;
}
