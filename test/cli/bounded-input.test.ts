import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, symlinkSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WARDEN_BIN } from '../helpers/cli.js';
import { scratchDirs } from '../helpers/scratch-dirs.js';

// Input files and stdin are read with bounded memory: an import file replaced by a link to
// /dev/zero (or a FIFO, a device) is refused as not a regular file (exit 66), a file or stdin
// past 64 MiB (64 KiB for a password, a key or a key file) is refused with exit 65, instead of
// growing the process until the OOM killer picks something — possibly the service beside it.

const tmp = scratchDirs('warden-cli-bounded-input-');

/** Above this resident size the child is killed: a bounded reader never gets near it. */
const RSS_CAP_KB = 400 * 1024;

interface Outcome {
  readonly code: number | null;
  readonly killedForMemory: boolean;
  readonly stderr: string;
}

/** Runs bin/warden with stdin from `stdinFile` (default /dev/null), killing it past RSS_CAP_KB or after 30 s. */
function runBounded(dir: string, args: readonly string[], stdinFile = '/dev/null'): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const stdinFd = openSync(stdinFile, 'r');
    const child = spawn(process.execPath, [WARDEN_BIN, ...args], {
      env: {
        PATH: process.env.PATH ?? '',
        WARDEN_ENV: 'development',
        WARDEN_DOTENV_FILE: '/dev/null',
        WARDEN_DATA_DIR: dir,
        WARDEN_DATABASE_URL: `sqlite:${path.join(dir, 'w.db')}`,
        WARDEN_LOG_LEVEL: 'silent',
        WARDEN_FERNET_KEYS: 'x',
      },
      stdio: [stdinFd, 'ignore', 'pipe'],
    });
    closeSync(stdinFd);
    let stderr = '';
    let killedForMemory = false;
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const poll = setInterval(() => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
        if (rss > RSS_CAP_KB) {
          killedForMemory = true;
          child.kill('SIGKILL');
        }
      } catch {
        // The process has ended.
      }
    }, 20);
    const hardStop = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(poll);
      clearTimeout(hardStop);
      resolve({ code, killedForMemory, stderr });
    });
  });
}

function zeroLink(dir: string): string {
  const link = path.join(dir, 'entries.jsonl');
  symlinkSync('/dev/zero', link);
  return link;
}

describe('CLI input files and stdin are read with bounded memory', () => {
  it('users import refuses a file that is a link to /dev/zero (exit 66) without unbounded memory', async () => {
    const dir = tmp();
    const outcome = await runBounded(dir, ['users', 'import', zeroLink(dir)]);
    expect(outcome.killedForMemory).toBe(false);
    expect(outcome.code).toBe(66);
  }, 60_000);

  it('keys import --file refuses a link to /dev/zero (exit 66) without unbounded memory', async () => {
    const dir = tmp();
    const outcome = await runBounded(dir, ['keys', 'import', '--owner', 'a@example.com', '--file', zeroLink(dir)]);
    expect(outcome.killedForMemory).toBe(false);
    expect(outcome.code).toBe(66);
  }, 60_000);

  it('keys import from stdin refuses an endless stdin (exit 65) without unbounded memory', async () => {
    const dir = tmp();
    const outcome = await runBounded(dir, ['keys', 'import', '--owner', 'a@example.com'], '/dev/zero');
    expect(outcome.killedForMemory).toBe(false);
    expect(outcome.code).toBe(65);
  }, 60_000);

  it('crypto encrypt --key-file refuses a link to /dev/zero as a key file without unbounded memory', async () => {
    const dir = tmp();
    const outcome = await runBounded(dir, ['crypto', 'encrypt', '--format', 'fernet', '--key-file', zeroLink(dir)]);
    expect(outcome.killedForMemory).toBe(false);
    expect(outcome.code).toBe(66);
  }, 60_000);

  it('users create reads at most one bounded line of stdin for the password (endless stdin is refused, exit 65)', async () => {
    const dir = tmp();
    const outcome = await runBounded(dir, ['users', 'create', '--email', 'z@example.com'], '/dev/zero');
    expect(outcome.killedForMemory).toBe(false);
    expect(outcome.code).toBe(65);
  }, 60_000);

  it('users import refuses a regular file larger than 64 MiB (exit 65) without reading it', async () => {
    const dir = tmp();
    const big = path.join(dir, 'big.jsonl');
    // Sparse: no disk space, but a size above the bound.
    closeSync(openSync(big, 'w'));
    truncateSync(big, 65 * 1024 * 1024);
    const outcome = await runBounded(dir, ['users', 'import', big]);
    expect(outcome.killedForMemory).toBe(false);
    expect(outcome.code).toBe(65);
    expect(outcome.stderr).toContain('larger than 67108864 bytes');
  }, 60_000);
});
