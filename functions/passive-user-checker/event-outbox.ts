/**
 * Domain events off the write path: writes hand their events in as they finish, the outbox sends them in batches
 * of `batchSize` (PutEvents takes ten entries) with at most `maxBatchesInFlight` calls under way, while the writes
 * go on. Memory stays bounded: once that many calls are under way and a batch is full, `add` waits for one to end,
 * so a slow bus slows the writes down instead of piling events up. Every event is delivered or returned as
 * undelivered by `drain`, never dropped.
 */
export class EventOutbox<E extends { readonly userId: string }> {
  private buffer: E[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly undelivered: string[] = [];

  constructor(
    /** Publishes one batch; resolves to the userIds of the events it could not deliver. */
    private readonly publish: (events: readonly E[]) => Promise<readonly string[]>,
    private readonly batchSize = 10,
    private readonly maxBatchesInFlight = 4,
  ) {}

  /** Queues an event; sends a batch once one is full, waiting first if too many are already under way. */
  async add(event: E): Promise<void> {
    this.buffer.push(event);
    if (this.buffer.length < this.batchSize) return;
    while (this.inFlight.size >= this.maxBatchesInFlight) await Promise.race(this.inFlight);
    // Another caller may have sent the buffer while this one waited.
    if (this.buffer.length >= this.batchSize) this.send();
  }

  /** Sends what is queued, waits for every call, and returns the userIds not delivered (each once). */
  async drain(): Promise<readonly string[]> {
    while (this.buffer.length > 0 || this.inFlight.size > 0) {
      if (this.buffer.length > 0 && this.inFlight.size < this.maxBatchesInFlight) this.send();
      else await Promise.race(this.inFlight);
    }
    return this.undelivered.splice(0);
  }

  private send(): void {
    const batch = this.buffer.splice(0, this.batchSize);
    const call = this.publish(batch)
      .then(
        (missed) => {
          this.undelivered.push(...missed);
        },
        // A publisher that throws delivered nothing of the batch: counted, not lost, not thrown into a write.
        () => {
          this.undelivered.push(...batch.map((event) => event.userId));
        },
      )
      .finally(() => {
        this.inFlight.delete(call);
      });
    this.inFlight.add(call);
  }
}
