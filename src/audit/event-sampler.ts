/** Bound on remembered sampling keys; beyond it the memory is reset (fail open to recording). */
const MAX_TRACKED = 10_000;

/**
 * Samples a flood of one kind of event: the first per key in a window is recorded, later ones
 * are counted and their number is carried by the next recorded one. Used for rate-limit blocks
 * and for refused credentials from anonymous callers (`audit-sampling.ts`).
 */
export class EventSampler {
  private readonly seen = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly windowMs: number) {}

  /** Whether to record this event now, and how many were suppressed before it. */
  admit(key: string, now: number): { record: boolean; suppressed: number } {
    const entry = this.seen.get(key);
    if (entry !== undefined && now - entry.at < this.windowMs) {
      entry.suppressed += 1;
      return { record: false, suppressed: 0 };
    }
    if (this.seen.size >= MAX_TRACKED) this.seen.clear();
    this.seen.set(key, { at: now, suppressed: 0 });
    return { record: true, suppressed: entry?.suppressed ?? 0 };
  }

  /**
   * Takes back an admission whose event was never stored (its commit failed): the next event of
   * the key is recorded, carrying the count the lost one carried, itself, and those since.
   */
  withdraw(key: string, admittedAt: number, carried: number): void {
    const entry = this.seen.get(key);
    if (entry === undefined || entry.at !== admittedAt) return;
    this.seen.set(key, { at: Number.NEGATIVE_INFINITY, suppressed: carried + 1 + entry.suppressed });
  }
}
