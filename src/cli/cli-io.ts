import { ConfigError, WardenError } from '../errors/index.js';
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
  if (error instanceof WardenError) {
    io.err(`warden: ${error.message} (${error.code})`);
    if (error.code === 'storage_unavailable' || error.code === 'service_unavailable') return EXIT.unavailable;
    if (error.code === 'decryption_failed') return EXIT.dataError;
    return EXIT.failure;
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT') {
    io.err(`warden: a service is unreachable (${code})`);
    return EXIT.unavailable;
  }
  io.err(`warden: unexpected error: ${error instanceof Error ? error.message : String(error)}`);
  if (process.env.WARDEN_DEBUG_CLI === '1' && error instanceof Error && error.stack !== undefined) io.err(error.stack);
  return EXIT.software;
}
