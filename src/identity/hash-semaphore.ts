import { WardenError } from '../errors/index.js';

/**
 * The default number of password hashes at once: one per CPU core the process may use (a
 * memory-hard hash gains nothing from sharing a core: two at once each run at half speed and
 * evict each other's memory from the cache; measured 40 vs 33 logins/s on one core), and at
 * most the libuv pool size minus one, so that jose's async crypto always finds a thread.
 */
export function defaultHashConcurrency(cores: number, threadPoolSize: number): number {
  const pool = Number.isInteger(threadPoolSize) && threadPoolSize > 0 ? threadPoolSize : 4;
  return Math.max(1, Math.min(Math.floor(cores), pool - 1));
}

/**
 * No password hash Warden accepts takes less than this (argon2id at the lowest cost it allows
 * takes several times as long): a waiter with more than `queueTimeoutMs / FASTEST_HASH_MS`
 * hashes ahead of it per slot can never be served in time.
 */
const FASTEST_HASH_MS = 10;

/** The overloaded answer, on arrival (queue full) or after waiting `queueTimeoutMs`. */
const overloaded = (): WardenError => new WardenError('overloaded', 'Too many logins in progress; retry shortly', { headers: { 'retry-after': '1' } });

/**
 * Caps concurrent password hashes. argon2, bcrypt and jose's WebCrypto share the libuv pool;
 * an unbounded login burst would stall every token check (PERFORMANCE.md). Waiters queue
 * FIFO and give up after `queueTimeoutMs` with 503 `overloaded`; a waiter that arrives when
 * the queue holds more than could be served in that time is refused at once (`maxQueue`,
 * by default concurrency × queueTimeoutMs / 10 ms), so a flood holds no sockets or memory
 * for the whole timeout.
 */
export class HashSemaphore {
  private active = 0;
  private readonly waiters: { resolve: () => void; timer: NodeJS.Timeout }[] = [];
  private readonly maxQueue: number;

  constructor(private readonly options: { readonly concurrency: number; readonly queueTimeoutMs: number; readonly maxQueue?: number }) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) throw new TypeError('concurrency must be an integer >= 1');
    this.maxQueue = options.maxQueue ?? options.concurrency * Math.max(1, Math.ceil(options.queueTimeoutMs / FASTEST_HASH_MS));
  }

  /** Runs `work` when a slot is free; throws 503 overloaded when none frees up in time. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await work();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.active < this.options.concurrency) {
      this.active += 1;
      return Promise.resolve();
    }
    if (this.waiters.length >= this.maxQueue) return Promise.reject(overloaded());
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve,
        timer: setTimeout(() => {
          const index = this.waiters.indexOf(waiter);
          if (index >= 0) this.waiters.splice(index, 1);
          reject(overloaded());
        }, this.options.queueTimeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next === undefined) {
      this.active -= 1;
      return;
    }
    // The slot passes straight to the next waiter (active count unchanged).
    clearTimeout(next.timer);
    next.resolve();
  }
}
