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

  it('refuses a limit below one', () => {
    expect(() => new ConcurrencyLimiter(0)).toThrow(/positive integer/);
  });
});
