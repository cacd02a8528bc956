import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { vi } from 'vitest';
import type { CliIo } from '../../src/cli/cli-io.js';
import { runCli } from '../../src/cli/main.js';
import { TEST_SECRET_KEY } from './app.js';

export const WARDEN_BIN = fileURLToPath(new URL('../../bin/warden', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the real `bin/warden` (compiled code in dist/, built by `npm test`'s pretest step) with
 * only the given environment (plus PATH), optional stdin, and a time limit.
 */
export function runWarden(
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string; stdin?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WARDEN_BIN, ...args], {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

/** What an in-process CLI run printed, line by line, and its exit code. */
export interface CapturedCliRun {
  readonly code: number;
  readonly out: string[];
  readonly err: string[];
}

/**
 * Runs the CLI in-process against the SQLite database `db` (development profile, secrets only
 * from the environment, no .env, silent logs) with `secretKey` and any further `env`.
 */
export async function runCliAgainst(
  db: { readonly dir: string; readonly url: string },
  args: readonly string[],
  options: { readonly secretKey?: string; readonly env?: Record<string, string> } = {},
): Promise<CapturedCliRun> {
  const fixed: Record<string, string> = {
    WARDEN_ENV: 'development',
    WARDEN_DATABASE_URL: db.url,
    WARDEN_DATA_DIR: db.dir,
    WARDEN_DOTENV_FILE: '/dev/null',
    WARDEN_LOG_LEVEL: 'silent',
    WARDEN_SECRETS_PROVIDER: 'env',
    WARDEN_SECRET_KEY: options.secretKey ?? TEST_SECRET_KEY,
    ...options.env,
  };
  for (const [name, value] of Object.entries(fixed)) vi.stubEnv(name, value);
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), readStdin: async () => Buffer.alloc(0) };
  const code = await runCli(['node', 'warden', ...args], io);
  return { code, out, err };
}
