import { describe, expect, it } from 'vitest';
import { HashSemaphore } from '../../src/identity/hash-semaphore.js';

/**
 * The login hashing queue is bounded in length as well as in time: a login that arrives when
 * more are waiting than could be served before WARDEN_PASSWORD_HASH_QUEUE_TIMEOUT_MS (by default
 * concurrency × timeout / 10 ms, no hash being faster) is refused at once with 503 `overloaded`
 * and Retry-After, instead of holding its request and socket for the whole timeout. The ones
 * already queued are served in order.
 */
describe('password hashing queue', () => {
  /** A semaphore whose one slot is held until the returned function is called. */
  const heldSemaphore = (options: { queueTimeoutMs: number; maxQueue?: number }) => {
    const semaphore = new HashSemaphore({ concurrency: 1, ...options });
    let release!: () => void;
    const holder = semaphore.run(() => new Promise<void>((resolve) => (release = resolve)));
    return { semaphore, release: async () => (release(), holder) };
  };

  it('refuses the waiter beyond maxQueue on arrival, and serves the ones queued before it', async () => {
    const { semaphore, release } = heldSemaphore({ queueTimeoutMs: 60_000, maxQueue: 2 });
    const served: number[] = [];
    const first = semaphore.run(async () => served.push(1));
    const second = semaphore.run(async () => served.push(2));
    await expect(semaphore.run(async () => served.push(3))).rejects.toMatchObject({
      code: 'overloaded',
      headers: { 'retry-after': '1' },
    });
    await release();
    await Promise.all([first, second]);
    expect(served).toEqual([1, 2]);
  });

  it('by default allows concurrency × timeout / 10 ms waiters', async () => {
    const { semaphore, release } = heldSemaphore({ queueTimeoutMs: 2_000 });
    const queued = Array.from({ length: 200 }, () => semaphore.run(async () => 'served'));
    await expect(semaphore.run(async () => 'served')).rejects.toMatchObject({ code: 'overloaded' });
    await release();
    expect(await Promise.all(queued)).toEqual(Array(200).fill('served'));
  });
});
