/** A counting semaphore: at most `limit` tasks run at once, the rest wait in arrival order. */
export class ConcurrencyLimiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`limit must be a positive integer: ${limit}`);
  }

  /** Runs the task in a slot, waiting for one if all are taken. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  /**
   * Waits for a free slot and starts the task in it, without waiting for the task. A producer that awaits each
   * `start` before making the next task never runs ahead of the slots: at most `limit` tasks are alive and one
   * waits, however many the producer has to go through (`run` on a whole list would queue every one of them).
   */
  async start<T>(task: () => Promise<T>): Promise<{ readonly done: Promise<T> }> {
    await this.acquire();
    const done = (async () => {
      try {
        return await task();
      } finally {
        this.release();
      }
    })();
    // The caller awaits `done` later; a rejection before then must not count as unhandled.
    done.catch(() => undefined);
    return { done };
  }

  private async acquire(): Promise<void> {
    if (this.running < this.limit) {
      this.running += 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    // Hand the slot straight to the next waiter, so `running` never dips and lets a newcomer jump the queue.
    if (next) next();
    else this.running -= 1;
  }
}
