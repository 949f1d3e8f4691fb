import { describe, expect, it } from 'vitest';
import { ConcurrencyLimiter } from '../../functions/shared/concurrency';

describe('ConcurrencyLimiter', () => {
  it('runs at most its limit at once and every task to the end', async () => {
    const limiter = new ConcurrencyLimiter(2);
    let running = 0;
    let peak = 0;
    const task = async (value: number) => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 2));
      running -= 1;
      return value;
    };

    const results = await Promise.all([1, 2, 3, 4, 5].map((value) => limiter.run(() => task(value))));

    expect(results).toEqual([1, 2, 3, 4, 5]);
    expect(peak).toBe(2);
  });

  it('frees the slot of a task that throws', async () => {
    const limiter = new ConcurrencyLimiter(1);

    await expect(limiter.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow(/boom/);
    await expect(limiter.run(async () => 'next')).resolves.toBe('next');
  });

  it('lets a producer that awaits each start run no further ahead than the free slots', async () => {
    const limiter = new ConcurrencyLimiter(3);
    let issued = 0;
    let finished = 0;
    let furthestAhead = 0;
    const done: Promise<number>[] = [];

    for (let i = 0; i < 200; i += 1) {
      issued += 1;
      // Tasks handed over but not finished: running ones plus the one waiting for a slot.
      furthestAhead = Math.max(furthestAhead, issued - finished);
      const started = await limiter.start(async () => {
        await new Promise((resolve) => setTimeout(resolve, i % 3));
        finished += 1;
        return i;
      });
      done.push(started.done);
    }

    expect(await Promise.all(done)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(furthestAhead).toBe(4);
  });

  it('keeps producers that share it to its slots plus one waiting task each', async () => {
    const limiter = new ConcurrencyLimiter(4);
    let running = 0;
    let peakRunning = 0;
    let outstanding = 0;
    let peakOutstanding = 0;
    const produce = async (producer: number) => {
      const done: Promise<void>[] = [];
      for (let i = 0; i < 50; i += 1) {
        // Handed over and not finished: running in a slot, or this producer's one waiting for a slot.
        outstanding += 1;
        peakOutstanding = Math.max(peakOutstanding, outstanding);
        const started = await limiter.start(async () => {
          running += 1;
          peakRunning = Math.max(peakRunning, running);
          await new Promise((resolve) => setTimeout(resolve, (producer + i) % 3));
          running -= 1;
          outstanding -= 1;
        });
        done.push(started.done);
      }
      await Promise.all(done);
    };

    await Promise.all([0, 1, 2, 3, 4, 5].map(produce));

    expect(peakRunning).toBe(4);
    expect(peakOutstanding).toBeLessThanOrEqual(4 + 6);
  });

  it('hands a started task’s failure to whoever awaits it, and frees its slot', async () => {
    const limiter = new ConcurrencyLimiter(1);

    const failing = await limiter.start(async () => Promise.reject(new Error('boom')));
    const next = await limiter.start(async () => 'next');

    await expect(failing.done).rejects.toThrow(/boom/);
    await expect(next.done).resolves.toBe('next');
  });

  it('refuses a limit below one', () => {
    expect(() => new ConcurrencyLimiter(0)).toThrow(/positive integer/);
  });
});
