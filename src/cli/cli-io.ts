import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { ConfigError, messageOf, WardenError } from '../errors/index.js';
import { SecretProviderError } from '../secrets/secret-provider.js';
import { StorageUnavailableError } from '../storage/storage-unavailable.js';
import { EXIT } from './exit-codes.js';

/** Where a command writes; injectable so commands can be tested in-process. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** Reads all of stdin (for secrets and data that must never be on argv); refused (CliFailure, exit 65) past `maxBytes` (default MAX_INPUT_BYTES). */
  readStdin(maxBytes?: number): Promise<Buffer>;
}

/**
 * Thrown when whoever reads stdout has gone (`warden audit export | head -1`). Node ignores
 * SIGPIPE, so instead of dying of it like `git log | head` the command unwinds through its
 * finally blocks (closing the database, flushing the audit log) and the CLI exits with
 * EXIT.brokenPipe and no message.
 */
export class OutputClosed extends Error {
  constructor() {
    super('stdout was closed by its reader');
  }
}

// Set by the 'error' listener of tolerateClosedStdout. Node resets process.stdout after an
// error (its destroy is a no-op that clears `errored`), so the stream soon forgets a failed write.
let stdoutReaderGone = false;

/** Whether a write to stdout has failed because its reader closed the pipe. */
function stdoutBroken(): boolean {
  return stdoutReaderGone || (process.stdout.errored as NodeJS.ErrnoException | null)?.code === 'EPIPE';
}

/**
 * Writes to stdout with backpressure (for output that can be large), throwing OutputClosed
 * once the reader has gone: the write that failed, and every later one, reached no one.
 */
export async function writeStdout(text: string): Promise<void> {
  if (stdoutBroken()) throw new OutputClosed();
  const flushed = process.stdout.write(text);
  if (stdoutBroken()) throw new OutputClosed();
  if (!flushed) {
    // A stream that fails while full never drains: 'close' ends the wait too.
    await new Promise<void>((resolve) => {
      const done = (): void => {
        process.stdout.off('drain', done);
        process.stdout.off('close', done);
        resolve();
      };
      process.stdout.on('drain', done);
      process.stdout.on('close', done);
    });
    if (stdoutBroken()) throw new OutputClosed();
  }
}

/**
 * Writes one line of possibly large output: to the real stdout with backpressure (a slow reader
 * holds the command back instead of the output piling up in memory), else through `io.out`.
 */
export async function outPaced(io: CliIo, line: string): Promise<void> {
  if (io === processIo) await writeStdout(`${line}\n`);
  else io.out(line);
}

/**
 * Keeps a closed pipe on stdout from ending the process with an unhandled 'error' event and a
 * stack trace: the writes themselves notice it (OutputClosed). Other stdout errors stay fatal,
 * as they were. For the real process only (main), never for tests running commands in-process.
 */
export function tolerateClosedStdout(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    stdoutReaderGone = true;
  });
}

/**
 * Waits until everything written to stdout has left the process, and tells whether it reached
 * a reader. Output larger than the pipe is queued inside the process: a command can finish
 * writing before its reader (`| head -1`) has gone, and only the queued writes meet the closed pipe.
 */
export async function stdoutDelivered(): Promise<boolean> {
  if (stdoutBroken()) return false;
  // A write's callback runs after every earlier write has been handed over, or with the error
  // that failed them.
  const failure = await new Promise<Error | null | undefined>((resolve) => process.stdout.write('', resolve));
  return (failure as NodeJS.ErrnoException | null | undefined)?.code !== 'EPIPE' && !stdoutBroken();
}

export const processIo: CliIo = {
  out: (line) => {
    if (stdoutBroken()) throw new OutputClosed();
    process.stdout.write(`${line}\n`);
    if (stdoutBroken()) throw new OutputClosed();
  },
  err: (line) => process.stderr.write(`${line}\n`),
  async readStdin(maxBytes = MAX_INPUT_BYTES) {
    const chunks: Buffer[] = [];
    let length = 0;
    for await (const chunk of process.stdin) {
      length += (chunk as Buffer).length;
      // An endless stdin (`< /dev/zero`, a runaway producer) must not take the host's memory.
      if (length > maxBytes) throw new CliFailure(`stdin is larger than ${maxBytes} bytes`, EXIT.dataError);
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  },
};

/** A failure that a command reports as one line and an exit code (no stack trace). */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
  }
}

// What a failed read means, in words; the code stays in the line for searching.
const READ_FAILURES: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
};

/** The most an input file or stdin may hold (an import of some 100,000 lines fits). */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;

/** The most a one-line input may hold: a password or a key read from stdin, a key file. */
export const MAX_LINE_INPUT_BYTES = 64 * 1024;

/**
 * Reads an input file named on the command line as UTF-8 (a leading byte-order mark dropped).
 * A file that cannot be read, or is no regular file (`/dev/zero`, a FIFO, a device), is a
 * CliFailure with exit 66 (EX_NOINPUT) naming the file and why, never its content; one larger
 * than `maxBytes` is exit 65. A FIFO is opened without waiting for a writer, then refused.
 */
export function readInputFile(file: string, maxBytes = MAX_INPUT_BYTES): string {
  const refused = (code: string): CliFailure => new CliFailure(`cannot read ${file}: ${READ_FAILURES[code] ?? 'read error'} (${code})`, EXIT.noInput);
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw refused((error as NodeJS.ErrnoException).code ?? 'error');
  }
  try {
    // Through the descriptor, so the file checked is the file read.
    const stats = fstatSync(fd);
    if (stats.isDirectory()) throw refused('EISDIR');
    if (!stats.isFile()) throw new CliFailure(`cannot read ${file}: not a regular file`, EXIT.noInput);
    const tooLarge = (): CliFailure => new CliFailure(`cannot read ${file}: larger than ${maxBytes} bytes`, EXIT.dataError);
    if (stats.size > maxBytes) throw tooLarge();
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(64 * 1024);
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      length += read;
      // A file that grows while it is read is still cut off at the bound.
      if (length > maxBytes) throw tooLarge();
      chunks.push(chunk.subarray(0, read));
    }
    const text = Buffer.concat(chunks, length).toString('utf8');
    // Windows tools write UTF-8 with a byte-order mark; it is not part of the first line.
    return text.startsWith('\uFEFF') ? text.slice(1) : text;
  } catch (error) {
    if (error instanceof CliFailure) throw error;
    throw refused((error as NodeJS.ErrnoException).code ?? 'error');
  } finally {
    closeSync(fd);
  }
}

/** Turns any error into lines on stderr and an exit code; stack traces only with WARDEN_DEBUG_CLI=1. */
export function reportError(error: unknown, io: CliIo): number {
  // Nothing to say: the reader chose to stop reading, as with `git log | head`.
  if (error instanceof OutputClosed) return EXIT.brokenPipe;
  if (error instanceof CliFailure) {
    io.err(`warden: ${error.message}`);
    return error.exitCode;
  }
  if (error instanceof ConfigError) {
    io.err('warden: the configuration is not usable:');
    for (const problem of error.problems) io.err(`  - ${problem}`);
    return EXIT.config;
  }
  if (error instanceof StorageUnavailableError) {
    // The operator needs the driver's reason (no such database, authentication failed, TLS,
    // refused); HTTP bodies keep the generic message, which is why it is not part of it.
    io.err(`warden: ${error.message}: ${error.reason} (${error.code})`);
    if (error.target !== undefined) io.err(`  database: ${error.target}`);
    return EXIT.unavailable;
  }
  if (error instanceof WardenError) {
    io.err(`warden: ${error.message} (${error.code})`);
    if (error.code === 'storage_unavailable' || error.code === 'service_unavailable') return EXIT.unavailable;
    if (error instanceof SecretProviderError && error.unavailable) return EXIT.unavailable;
    // Input that a command refuses (a name with a control character, an expiry in the past)
    // is bad data whichever command took it, as `users create` has always said.
    if (error.code === 'decryption_failed' || error.code === 'validation_failed') return EXIT.dataError;
    return EXIT.failure;
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT') {
    io.err(`warden: a service is unreachable (${code})`);
    return EXIT.unavailable;
  }
  io.err(`warden: unexpected error: ${messageOf(error)}`);
  if (process.env.WARDEN_DEBUG_CLI === '1' && error instanceof Error && error.stack !== undefined) io.err(error.stack);
  return EXIT.software;
}
