import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const crashShutdown = fileURLToPath(new URL('../../dist/server/crash-shutdown.js', import.meta.url));

/** Runs a process whose server stand-in records its shutdown, then lets `crash` escape every handler. */
function crashWith(crash: string): { status: number | null; stdout: string } {
  const script = `
    const { shutDownOnCrash } = await import(${JSON.stringify(crashShutdown)});
    const logger = { fatal: (fields, msg) => console.log('fatal:', msg, fields.origin, fields.err.message) };
    const server = { context: { logger }, close: async () => { await new Promise((r) => setTimeout(r, 20)); console.log('flushed and closed'); } };
    shutDownOnCrash(server);
    setInterval(() => undefined, 1000);
    ${crash}
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, stdout: result.stdout };
}

describe('warden serve when an error escapes every handler', () => {
  it('shuts down as for SIGTERM (flushing what is buffered) after an unhandled rejection, then exits 1', () => {
    const { status, stdout } = crashWith(`Promise.reject(new Error('a bug'));`);
    expect(stdout).toContain('fatal: an error escaped every handler; shutting down after flushing what is buffered unhandledRejection a bug');
    expect(stdout).toContain('flushed and closed');
    expect(status).toBe(1);
  });

  it('does the same after an uncaught exception', () => {
    const { status, stdout } = crashWith(`setTimeout(() => { throw new Error('another bug'); }, 10);`);
    expect(stdout).toContain('uncaughtException another bug');
    expect(stdout).toContain('flushed and closed');
    expect(status).toBe(1);
  });
});
