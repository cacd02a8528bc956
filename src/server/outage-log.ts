import type { Logger } from 'pino';

/** Reports the failures of one dependency: `failed` for each error, `recovered` when it works again. */
export interface OutageLog {
  failed(error: Error): void;
  recovered(): void;
}

/**
 * Logs a dependency's outage without flooding the log: the first failure at once, then at most
 * one line per `intervalMs` carrying how many failures it stands for (`repeated`), and one
 * line when the dependency works again. A client that reconnects every few hundred ms (ioredis)
 * would otherwise write a pair of warnings per attempt for as long as the outage lasts.
 */
export function outageLog(logger: Logger, what: string, options: { intervalMs?: number; now?: () => number } = {}): OutageLog {
  const intervalMs = options.intervalMs ?? 30_000;
  const now = options.now ?? Date.now;
  let lastLoggedAt: number | undefined;
  let unlogged = 0;
  let down = false;
  return {
    failed(error) {
      down = true;
      const at = now();
      if (lastLoggedAt !== undefined && at - lastLoggedAt < intervalMs) {
        unlogged += 1;
        return;
      }
      logger.warn({ err: { message: error.message }, ...(unlogged > 0 ? { repeated: unlogged } : {}) }, what);
      lastLoggedAt = at;
      unlogged = 0;
    },
    recovered() {
      if (!down) return;
      logger.info({ ...(unlogged > 0 ? { repeated: unlogged } : {}) }, `${what}: recovered`);
      down = false;
      lastLoggedAt = undefined;
      unlogged = 0;
    },
  };
}
