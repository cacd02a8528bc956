import { Readable } from 'node:stream';
import type { Command } from 'commander';
import { createLineRedactor, createRedactor, PATTERN_TYPES, type PatternType } from '../../redact/index.js';
import { boundedLines } from '../bounded-lines.js';
import { CliFailure, outPaced, processIo, type CliIo } from '../cli-io.js';
import { EXIT } from '../exit-codes.js';

/** Longest line kept whole: the redactor's per-value budget (maxCharsPerValue, 1 MiB). */
const MAX_LINE_CHARS = 1_048_576;

interface RedactOptions {
  disable?: string;
  allowKey?: string;
  denyKey?: string;
}

/** `warden redact`: stdin → stdout, secrets and PII replaced by `[REDACTED:<type>]`, line by line. */
export function registerRedact(
  program: Command,
  io: CliIo,
  run: (work: () => Promise<number | void>) => Promise<void>,
): void {
  program
    .command('redact')
    .description(
      'redact secrets and personal data from stdin to stdout (e.g. warden redact < app.log > app.redacted.log)',
    )
    .option(
      '--disable <types>',
      `comma-separated pattern types to keep, e.g. ipv4,ipv6 (${PATTERN_TYPES.join(', ')})`,
    )
    .option('--allow-key <names>', 'comma-separated JSON keys never redacted by name')
    .option('--deny-key <names>', 'comma-separated extra JSON keys always redacted')
    .action((options: RedactOptions) =>
      run(async () => {
        const disabled = splitList(options.disable);
        const unknown = disabled.filter((type) => !(PATTERN_TYPES as readonly string[]).includes(type));
        if (unknown.length > 0)
          throw new CliFailure(`unknown pattern type(s): ${unknown.join(', ')}`, EXIT.usage);
        const allowKeys = splitList(options.allowKey);
        const redactor = createRedactor({
          disabledPatterns: disabled as PatternType[],
          ...(allowKeys.length === 0 ? {} : { allowKeys }),
          denyKeys: splitList(options.denyKey),
        });
        const lines = createLineRedactor(redactor);
        // The real process streams (constant memory for big logs); injected IO is read whole.
        const input = io === processIo ? process.stdin : Readable.from([await io.readStdin()]);
        // Lines are cut past what the redactor scans of a value anyway (the rest would only be
        // replaced by `[REDACTED:truncated]`): a line of any length costs bounded memory.
        for await (const line of boundedLines(input as AsyncIterable<Buffer>, MAX_LINE_CHARS)) {
          const out = lines.line(line);
          if (out === undefined) continue;
          await outPaced(io, out);
        }
        return EXIT.ok;
      }),
    );
}

function splitList(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
