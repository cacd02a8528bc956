import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';
import { runCliAgainst, WARDEN_BIN } from '../helpers/cli.js';

// `warden audit export | head -1`: the reader closes the pipe after its first line. The CLI
// must stop quietly, as `git log | head` does, not crash with an unhandled EPIPE stack trace.

afterEach(() => {
  vi.unstubAllEnvs();
});

/** Runs bin/warden and closes its stdout as soon as the first output arrives (like `| head -1`). */
function runAndCloseStdoutEarly(
  args: readonly string[],
  env: Record<string, string>,
  stdin = '',
): Promise<{ code: number | null; stderr: string; firstChunk: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WARDEN_BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    let firstChunk = '';
    child.stdout.once('data', (chunk: Buffer) => {
      firstChunk = chunk.toString();
      child.stdout.destroy();
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, firstChunk });
    });
    // The reader may be gone before all of stdin is written: that is not this test's concern.
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}

/**
 * Runs bin/warden in a shell pipeline whose reader takes none of stdout and exits once `marker`
 * shows on stderr: the command has written all its output by then, more than the pipe holds, so
 * the rest is still queued inside the process. A shell makes a real pipe (64 KiB); Node's own
 * stdio pipes are socket pairs whose buffers hold far more.
 */
function runInPipeClosedAfter(
  marker: string,
  args: readonly string[],
  env: Record<string, string>,
  dir: string,
): Promise<{ code: number; stderr: string }> {
  const stderrFile = path.join(dir, 'stderr.txt');
  const script =
    '"$NODE" "$WARDEN_BIN" "$@" 2>"$STDERR_FILE" | { for _ in $(seq 400); do grep -qF -- "$MARKER" "$STDERR_FILE" 2>/dev/null && break; sleep 0.05; done; }; echo "${PIPESTATUS[0]}"';
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      ['-c', script, 'warden', ...args],
      {
        env: {
          PATH: process.env.PATH ?? '',
          ...env,
          NODE: process.execPath,
          WARDEN_BIN,
          STDERR_FILE: stderrFile,
          MARKER: marker,
        },
        timeout: 30_000,
      },
      (error, stdout) => {
        if (error !== null) reject(error);
        else resolve({ code: Number(stdout.trim()), stderr: readFileSync(stderrFile, 'utf8') });
      },
    );
  });
}

describe('a reader that closes stdout early (`| head -1`)', () => {
  describe('on an audit log of 2000 events (many 64 KiB pipe buffers of output)', () => {
    let dir = '';
    let env: Record<string, string> = {};
    beforeAll(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'warden-epipe-audit-'));
      const db = { dir, url: `sqlite:${path.join(dir, 'warden.db')}` };
      const hash = '$2b$10$abcdefghijklmnopqrstuuWwJ8C3F5fC0vQb7bW5o2k7nHYv1fGfa';
      const file = path.join(dir, 'users.jsonl');
      writeFileSync(
        file,
        Array.from({ length: 2000 }, (_, i) =>
          JSON.stringify({ email: `u${i}@example.test`, password_hash: hash }),
        ).join('\n'),
      );
      expect((await runCliAgainst(db, ['users', 'import', file])).code).toBe(0);
      env = {
        WARDEN_ENV: 'development',
        WARDEN_DATABASE_URL: db.url,
        WARDEN_DATA_DIR: dir,
        WARDEN_DOTENV_FILE: '/dev/null',
        WARDEN_LOG_LEVEL: 'silent',
        WARDEN_SECRET_KEY: TEST_SECRET_KEY,
      };
    }, 60_000);
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('audit export stops quietly with exit 141 (128 + SIGPIPE), no EPIPE stack trace', async () => {
      // The export waits for the reader as it writes, so it meets the closed pipe however fast
      // it could produce the rest.
      const result = await runAndCloseStdoutEarly(['audit', 'export'], env);
      expect(result.firstChunk).toMatch(/^\{"id":/);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(EXIT.brokenPipe);
    }, 60_000);

    it('a command that returned while its output was still queued exits 141, not 0', async () => {
      // `audit query --limit 500` writes ~240 KB, then its cursor on stderr; the reader has taken
      // none of it yet. The output it could not deliver is lost: success would be a lie.
      const result = await runInPipeClosedAfter(
        'next cursor:',
        ['audit', 'query', '--limit', '500'],
        env,
        dir,
      );
      expect(result.stderr).toMatch(/^next cursor: \S+\n$/);
      expect(result.code).toBe(EXIT.brokenPipe);
    }, 60_000);
  });

  it('redact (large piped input) stops quietly with exit 141 too', async () => {
    const input = Array.from(
      { length: 20_000 },
      (_, i) => `line ${i} password=hunter2 and some more text`,
    ).join('\n');
    const result = await runAndCloseStdoutEarly(['redact'], { WARDEN_DOTENV_FILE: '/dev/null' }, input);
    expect(result.firstChunk).toContain('[REDACTED');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(EXIT.brokenPipe);
  }, 60_000);
});
