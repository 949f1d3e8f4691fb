import { setMaxListeners } from 'node:events';
import type { Lease, WorkerLease } from './ports';

export type BudgetStop = 'time-budget' | 'paused';

/**
 * The reason the run's signal carries once it fires. A job that calls `signal.throwIfAborted()`, or hands the
 * signal to a call that rejects on abort, throws this (or an `AbortError`): the kit records such a run as an
 * incomplete one that stopped for `reason`, not as a failure, so a pause or a spent budget never pages anyone.
 */
export class RunStoppedError extends Error {
  constructor(readonly reason: BudgetStop) {
    super(reason === 'paused' ? 'The worker was paused' : 'The run reached its time budget');
    this.name = 'RunStoppedError';
  }
}

/** Why the run's signal fired (`time-budget` or `paused`), or undefined while it has not. */
export function stopReasonOf(signal: AbortSignal): BudgetStop | undefined {
  return signal.aborted && signal.reason instanceof RunStoppedError ? signal.reason.reason : undefined;
}

/**
 * The run's budget as one AbortSignal: it fires a safety margin before the invocation or the lease ends, whichever
 * comes first, and when an operator pauses the worker. The clocks are injected (`now`, `remainingMs`); a timer
 * fires the signal on time for a job that only watches it, and every `timeLeftMs()` call re-checks the clocks, so a
 * job that asks never works past the margin either.
 */
export class RunBudget {
  private readonly controller = newSignalController();
  private timer: NodeJS.Timeout | undefined;
  private pausePoll: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly clocks: {
      readonly now: () => Date;
      readonly remainingMs: () => number;
      /** The clock the lease's end is on (DynamoDB's time as the kit reads it). @default now */
      readonly leaseNow?: () => Date;
    },
    private readonly safetyMarginMs: number,
    private readonly lease: Lease | undefined,
  ) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Milliseconds in which work may still start (the margin already taken off); at or below 0 the signal fires. */
  timeLeftMs(): number {
    const leaseLeft = this.lease
      ? this.lease.leaseUntil.getTime() - (this.clocks.leaseNow ?? this.clocks.now)().getTime()
      : Number.POSITIVE_INFINITY;
    const left = Math.min(this.clocks.remainingMs(), leaseLeft) - this.safetyMarginMs;
    if (left <= 0) this.stop('time-budget');
    return left;
  }

  stop(reason: BudgetStop): void {
    if (!this.controller.signal.aborted) this.controller.abort(new RunStoppedError(reason));
  }

  /** True when `error` is this budget's stop, thrown back by the job: its signal's reason, or an AbortError after it. */
  isStop(error: unknown): boolean {
    if (!this.controller.signal.aborted) return false;
    return error === this.controller.signal.reason || (error instanceof Error && error.name === 'AbortError');
  }

  get stopReason(): BudgetStop | undefined {
    return stopReasonOf(this.controller.signal);
  }

  /** Arms the timer, and the pause poll when the run holds a lease. Neither keeps the process alive. */
  start(
    lease: WorkerLease | undefined,
    pauseCheckIntervalMs: number,
    onPollError: (error: unknown) => void,
  ): void {
    this.arm();
    if (!lease || !this.lease) return;
    this.pausePoll = setInterval(() => {
      if (this.polling || this.signal.aborted) return;
      this.polling = true;
      lease
        .readPause()
        .then((paused) => {
          if (paused) this.stop('paused');
        })
        .catch(onPollError)
        .finally(() => {
          this.polling = false;
        });
    }, pauseCheckIntervalMs);
    this.pausePoll.unref();
  }

  private arm(): void {
    const left = this.timeLeftMs();
    if (left <= 0) return;
    // Re-checked when it fires: the injected clocks decide, the timer only wakes the check up.
    this.timer = setTimeout(() => this.arm(), Math.min(left, 2_147_483_647));
    this.timer.unref();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.pausePoll) clearInterval(this.pausePoll);
  }
}

/**
 * A job hands its signal to every SDK call (each adds an abort listener while it is under way), so a run with many
 * calls in flight passes Node's default of ten listeners: a warning with no leak behind it.
 */
function newSignalController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}
