import { describe, expect, it } from 'vitest';
import { type Clock, TokenBucket } from '../../cli/checker/token-bucket';

/** Virtual time: sleeps resolve only when the test advances the clock past them. */
class VirtualClock implements Clock {
  private time = 0;
  private timers: { at: number; resolve: () => void }[] = [];

  now = () => this.time;

  sleep = (ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve) => {
      const timer = { at: this.time + ms, resolve };
      this.timers.push(timer);
      signal?.addEventListener('abort', () => {
        this.timers = this.timers.filter((other) => other !== timer);
        resolve();
      });
    });

  /** Moves time forward, firing due timers in order and letting their callers run before the next one. */
  async advanceTo(time: number): Promise<void> {
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > time) break;
      this.timers.shift();
      this.time = next.at;
      next.resolve();
      await flush();
    }
    this.time = time;
    await flush();
  }
}

const flush = async () => {
  for (let i = 0; i < 10; i += 1) await Promise.resolve();
};

describe('TokenBucket', () => {
  it('lets a burst through at once and then one take per 1/rate seconds', async () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucket(10, 5, clock);
    const grantedAt: number[] = [];

    const takes = Array.from({ length: 30 }, () => bucket.take().then(() => grantedAt.push(clock.now())));
    await flush();
    const atOnce = grantedAt.length;
    await clock.advanceTo(999);
    const byJustBeforeOneSecond = grantedAt.length;
    await clock.advanceTo(1000);
    const byOneSecond = grantedAt.length;
    await clock.advanceTo(2500);
    await Promise.all(takes);

    expect(atOnce).toBe(5);
    expect(byJustBeforeOneSecond).toBe(14);
    expect(byOneSecond).toBe(15);
    expect(grantedAt).toHaveLength(30);
    expect(grantedAt.at(-1)).toBe(2500);
  });

  it('never grants more than burst + rate × window in any window', async () => {
    const clock = new VirtualClock();
    const rate = 20;
    const burst = 20;
    const bucket = new TokenBucket(rate, burst, clock);
    const grantedAt: number[] = [];

    const takes = Array.from({ length: 200 }, () => bucket.take().then(() => grantedAt.push(clock.now())));
    for (let t = 0; t <= 10_000; t += 50) await clock.advanceTo(t);
    await Promise.all(takes);

    expect(grantedAt).toHaveLength(200);
    for (let start = 0; start < 10_000; start += 250) {
      for (const window of [100, 1000, 3000]) {
        const inWindow = grantedAt.filter((at) => at >= start && at <= start + window).length;
        expect(inWindow).toBeLessThanOrEqual(burst + (rate * window) / 1000 + 1);
      }
    }
    // …and it does not throttle harder than asked: 200 takes need (200 - burst) / rate seconds.
    expect(Math.max(...grantedAt)).toBe(((200 - burst) / rate) * 1000);
  });

  it('refills while idle, up to the burst and no further', async () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucket(10, 5, clock);
    for (let i = 0; i < 5; i += 1) await bucket.take();
    await clock.advanceTo(60_000);
    const grantedAt: number[] = [];

    const takes = Array.from({ length: 7 }, () => bucket.take().then(() => grantedAt.push(clock.now())));
    await flush();
    const immediately = grantedAt.length;
    await clock.advanceTo(60_200);
    await Promise.all(takes);

    expect(immediately).toBe(5);
    expect(grantedAt).toEqual([60_000, 60_000, 60_000, 60_000, 60_000, 60_100, 60_200]);
  });

  it('gives up a wait when the signal aborts, without granting the token', async () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucket(1, 1, clock);
    await bucket.take();
    const interrupt = new AbortController();

    const waiting = bucket.take(interrupt.signal);
    interrupt.abort();

    await expect(waiting).resolves.toBe(false);
    await expect(bucket.take(interrupt.signal)).resolves.toBe(false);
  });

  it('rejects a rate that is not positive', () => {
    expect(() => new TokenBucket(0, 1, new VirtualClock())).toThrow(/ratePerSecond must be positive/);
  });
});
