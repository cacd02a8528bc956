import { CliFailure } from './cli-io.js';
import { EXIT } from './exit-codes.js';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * A duration flag (`30s`, `15m`, `24h`, `90d`, `0`; a bare number is milliseconds) in
 * milliseconds; anything else is a usage error (exit 2) naming the flag.
 */
export function durationFlag(value: string, flag: string, options: { maxMs?: number; maxText?: string } = {}): number {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(value.trim());
  if (match === null) throw new CliFailure(`${flag}: "${value}" is not a duration like 30s, 15m, 24h or 0`, EXIT.usage);
  const ms = Number(match[1]) * UNIT_MS[(match[2] ?? 'ms') as keyof typeof UNIT_MS];
  // A time beyond the safe integers is not stored exactly (or at all): refuse it as a typo.
  if (!Number.isSafeInteger(ms) || !Number.isSafeInteger(Date.now() + ms)) throw new CliFailure(`${flag}: "${value}" is too long a duration`, EXIT.usage);
  if (options.maxMs !== undefined && ms > options.maxMs) throw new CliFailure(`${flag}: at most ${options.maxText ?? `${options.maxMs} ms`}`, EXIT.usage);
  return ms;
}
