/** Time as the rate limiter sees it: injected, so tests drive a virtual clock instead of waiting. */
export interface Clock {
  /** Milliseconds on a monotonic scale. */
  now(): number;
  /** Resolves after `ms`, or early once `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/**
 * A token bucket: at most `burst` writes at once, then `ratePerSecond` on average. Callers that find it empty
 * reserve a future token (the count goes negative) and sleep until it is theirs, so concurrent callers are
 * served in arrival order and the bound holds over any window: writes in [t, t + w] ≤ burst + rate · w.
 */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly clock: Clock,
  ) {
    if (!(ratePerSecond > 0)) throw new RangeError(`ratePerSecond must be positive: ${ratePerSecond}`);
    if (!(burst >= 1)) throw new RangeError(`burst must be at least 1: ${burst}`);
    this.tokens = burst;
    this.refilledAt = clock.now();
  }

  /** Waits for a token; false (and no token taken) when `signal` aborted first. */
  async take(signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return false;
    this.refill();
    this.tokens -= 1;
    if (this.tokens >= 0) return true;
    await this.clock.sleep((-this.tokens / this.ratePerSecond) * 1000, signal);
    if (signal?.aborted) {
      // Hand the reservation back; callers queued behind it then wait a little longer than needed, never less.
      this.tokens += 1;
      return false;
    }
    return true;
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) * this.ratePerSecond) / 1000);
    this.refilledAt = now;
  }
}
