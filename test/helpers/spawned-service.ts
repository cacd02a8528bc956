import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { WARDEN_BIN } from './cli.js';

/** A `warden serve` child process started from outside, as an operator would. */
export interface SpawnedService {
  readonly child: ChildProcess;
  /** Everything written to stdout / stderr so far. */
  readonly out: () => string;
  readonly err: () => string;
  /** Resolves with the exit code and signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once stdout has contained `pattern`; rejects if the process ends first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** SIGKILLs the process if it is still running. */
  kill(): Promise<void>;
}

/** Spawns `bin/warden serve` with only `env` (plus PATH); stdout is a pipe unless `closeStdout`. */
export function spawnService(env: Record<string, string>): SpawnedService {
  const child = spawn(process.execPath, [WARDEN_BIN, 'serve'], {
    env: { PATH: process.env.PATH ?? '', WARDEN_DOTENV_FILE: '/dev/null', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => {
      done = true;
      resolve({ code, signal });
    }),
  );
  return {
    child,
    out: () => out,
    err: () => err,
    exited,
    waitFor(pattern, timeoutMs = 25_000) {
      return new Promise((resolve, reject) => {
        const started = Date.now();
        const tick = setInterval(() => {
          const match = pattern.exec(out);
          if (match !== null) {
            clearInterval(tick);
            resolve(match);
          } else if (done || Date.now() - started > timeoutMs) {
            clearInterval(tick);
            reject(new Error(`${pattern} not seen (exited: ${done})\nstdout: ${out}\nstderr: ${err}`));
          }
        }, 25);
      });
    },
    async kill() {
      if (!done) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** Resolves with whether the process ended within `ms` (a liveness bound, not a timing check). */
export async function exitsWithin(service: SpawnedService, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([
    service.exited.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]);
  clearTimeout(timer);
  return result;
}

/** A TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Whether a TCP connection to 127.0.0.1:port is refused (the server stopped listening). */
export function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

/** Polls until `check` is true (or gives up after `timeoutMs`, returning false). */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<boolean> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
