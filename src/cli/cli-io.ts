import { readFileSync } from 'node:fs';
import { ConfigError, messageOf, WardenError } from '../errors/index.js';
import { SecretProviderError } from '../secrets/secret-provider.js';
import { StorageUnavailableError } from '../storage/storage-unavailable.js';
import { EXIT } from './exit-codes.js';

/** Where a command writes; injectable so commands can be tested in-process. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** Reads all of stdin (for secrets and data that must never be on argv). */
  readStdin(): Promise<Buffer>;
}

export const processIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  async readStdin() {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
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

/**
 * Reads an input file named on the command line as UTF-8. A file that cannot be read is a
 * CliFailure with exit 66 (EX_NOINPUT) naming the file and why, never its content.
 */
export function readInputFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new CliFailure(`cannot read ${file}: ${READ_FAILURES[code] ?? 'read error'} (${code})`, EXIT.noInput);
  }
}

/** Turns any error into lines on stderr and an exit code; stack traces only with WARDEN_DEBUG_CLI=1. */
export function reportError(error: unknown, io: CliIo): number {
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
    if (error.code === 'decryption_failed') return EXIT.dataError;
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
