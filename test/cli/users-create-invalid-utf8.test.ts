import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CliIo } from '../../src/cli/cli-io.js';
import { runCli } from '../../src/cli/main.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';
import { scratchDirs } from '../helpers/scratch-dirs.js';

// `warden users create` reads a piped password as strict UTF-8: a lenient decode would turn
// each invalid byte into U+FFFD, storing something other than what the operator holds (a
// password from a Latin-1 file, or raw random bytes whose randomness collapses to U+FFFD).
// Input the command does not accept is exit 65 (docs/operations.md).

const tmp = scratchDirs('warden-utf8-');
afterEach(() => vi.unstubAllEnvs());

async function run(
  args: readonly string[],
  stdin: Buffer,
  dir: string,
): Promise<{ code: number; out: string[]; err: string[] }> {
  const env: Record<string, string> = {
    WARDEN_ENV: 'development',
    WARDEN_DATABASE_URL: `sqlite:${path.join(dir, 'warden.db')}`,
    WARDEN_DATA_DIR: dir,
    WARDEN_DOTENV_FILE: path.join(dir, 'no.env'),
    WARDEN_LOG_LEVEL: 'silent',
    WARDEN_SECRETS_PROVIDER: 'env',
    WARDEN_SECRET_KEY: TEST_SECRET_KEY,
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), readStdin: async () => stdin };
  const code = await runCli(['node', 'warden', ...args], io);
  return { code, out, err };
}

describe('warden users create with a password that is not UTF-8', () => {
  it('refuses it (exit 65) instead of storing a different, lossy password', async () => {
    if (process.stdin.isTTY) return; // the command prompts on a terminal; this is about piped stdin
    const dir = tmp();
    const latin1 = Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from('-Passw0rd!!\n')]);
    const result = await run(['users', 'create', '--email', 'latin1@example.com'], latin1, dir);
    expect(result.out.join('\n')).not.toMatch(/^created user/m);
    expect(result.code).toBe(65);
  }, 60_000);
});
