/** Bound on remembered (actor, entity) pairs; beyond it the memory is reset (fail open to recording). */
const MAX_TRACKED = 10_000;

/**
 * Samples rate-limit blocks: a flood of 429s for one caller becomes one audit event per
 * window that carries how many blocks were suppressed since the previous one.
 */
export class RateLimitBlockSampler {
  private readonly seen = new Map<string, { at: number; suppressed: number }>();

  constructor(private readonly windowMs: number) {}

  /** Whether to record this block now, and how many were suppressed before it. */
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
}
