import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { TEST_SECRET_KEY } from '../helpers/app.js';
import { runCliAgainst, WARDEN_BIN } from '../helpers/cli.js';
import { scratchDirs } from '../helpers/scratch-dirs.js';

// `warden audit export | head -1`: the reader closes the pipe after its first line. The CLI
// must stop quietly, as `git log | head` does, not crash with an unhandled EPIPE stack trace.

const tmp = scratchDirs('warden-epipe-');
afterEach(() => {
  vi.unstubAllEnvs();
});

/** Runs bin/warden and closes its stdout as soon as the first output arrives (like `| head -1`). */
function runAndCloseStdoutEarly(args: readonly string[], env: Record<string, string>, stdin = ''): Promise<{ code: number | null; stderr: string; firstChunk: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WARDEN_BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
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

describe('a reader that closes stdout early (`| head -1`)', () => {
  it('audit export stops quietly with exit 141 (128 + SIGPIPE), no EPIPE stack trace', async () => {
    const dir = tmp();
    const db = { dir, url: `sqlite:${path.join(dir, 'warden.db')}` };
    // Many pipe buffers (64 KiB each) of audit events: the reader's close takes effect a moment
    // after its first read, and with only two buffers' worth the writer could finish in that
    // moment (it did, now and then, on Node 24) and exit 0 without meeting the closed pipe.
    const hash = '$2b$10$abcdefghijklmnopqrstuuWwJ8C3F5fC0vQb7bW5o2k7nHYv1fGfa';
    const file = path.join(dir, 'users.jsonl');
    writeFileSync(file, Array.from({ length: 2000 }, (_, i) => JSON.stringify({ email: `u${i}@example.test`, password_hash: hash })).join('\n'));
    expect((await runCliAgainst(db, ['users', 'import', file])).code).toBe(0);

    const env = { WARDEN_ENV: 'development', WARDEN_DATABASE_URL: db.url, WARDEN_DATA_DIR: dir, WARDEN_DOTENV_FILE: path.join(dir, 'no.env'), WARDEN_LOG_LEVEL: 'silent', WARDEN_SECRET_KEY: TEST_SECRET_KEY };
    const result = await runAndCloseStdoutEarly(['audit', 'export'], env);
    expect(result.firstChunk).toMatch(/^\{"id":/);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(EXIT.brokenPipe);
  }, 60_000);

  it('redact (large piped input) stops quietly with exit 141 too', async () => {
    const dir = tmp();
    const input = Array.from({ length: 20_000 }, (_, i) => `line ${i} password=hunter2 and some more text`).join('\n');
    const result = await runAndCloseStdoutEarly(['redact'], { WARDEN_DOTENV_FILE: path.join(dir, 'no.env') }, input);
    expect(result.firstChunk).toContain('[REDACTED');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(EXIT.brokenPipe);
  }, 60_000);
});
