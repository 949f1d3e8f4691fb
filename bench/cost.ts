/**
 * Benchmark 6: what an idle tick costs on AWS on-demand pricing, from the measured (modeled) request units.
 *
 * ASSUMPTION, not a quote: us-east-1 on-demand prices after the November 2024 reduction, $0.125 per million
 * read request units and $0.625 per million write request units (AWS pricing page
 * https://aws.amazon.com/dynamodb/pricing/on-demand/; the figures as summarised in
 * https://airbyte.com/data-engineering-resources/dynamodb-pricing). Check the pricing page for your region.
 */
import { configDefaults } from '../functions/shared/config';
import type { IdleTickResult } from './idle-tick';
import { scanUnits } from './idle-tick';

export const pricing = {
  region: 'us-east-1',
  mode: 'on-demand',
  usdPerMillionReadUnits: 0.125,
  usdPerMillionWriteUnits: 0.625,
  source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/ (figures as of the November 2024 price cut)',
} as const;

/** rate(10 minutes): 6 an hour × 24 × 30 days. */
export const ticksPerMonth = 4320;

/**
 * What the index costs outside the worker: every login moves a user's `lastLoginAt`, the index's sort key, and
 * DynamoDB writes that as two index writes (delete the old entry, put the new one), each at least one WRU.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.Writes
 */
export const indexWriteUnitsPerLogin = 2;
/** ASSUMPTION for the index-upkeep column: each user logs in once a day. */
export const loginsPerUserPerDay = 1;

export interface CostRow {
  readonly users: number;
  readonly workerReadUnits: number;
  readonly workerWriteUnits: number;
  readonly scanReadUnits: number;
  readonly workerUsdPerTick: number;
  readonly scanUsdPerTick: number;
  readonly workerUsdPerMonth: number;
  readonly scanUsdPerMonth: number;
  /** The index's share of the login path's writes, a month, at `loginsPerUserPerDay`. */
  readonly indexUpkeepUsdPerMonth: number;
}

const usd = (readUnits: number, writeUnits: number) =>
  (readUnits * pricing.usdPerMillionReadUnits + writeUnits * pricing.usdPerMillionWriteUnits) / 1_000_000;

/**
 * The worker's idle tick reads one empty page per shard whatever the table holds, plus its three lock writes
 * (acquire, last-run summary, release); the Scan baseline reads the whole table every tick (lock not counted).
 */
export function idleCostTable(idle: IdleTickResult, userCounts: readonly number[]): CostRow[] {
  return userCounts.map((users) => {
    const workerReadUnits = idle.worker.modeledRcu;
    const workerWriteUnits = idle.worker.modeledWcu;
    const scanReadUnits = scanUnits(users, idle.meanItemBytes);
    const workerUsdPerTick = usd(workerReadUnits, workerWriteUnits);
    const scanUsdPerTick = usd(scanReadUnits, 0);
    return {
      users,
      workerReadUnits,
      workerWriteUnits,
      scanReadUnits,
      workerUsdPerTick,
      scanUsdPerTick,
      workerUsdPerMonth: workerUsdPerTick * ticksPerMonth,
      scanUsdPerMonth: scanUsdPerTick * ticksPerMonth,
      indexUpkeepUsdPerMonth: usd(0, users * loginsPerUserPerDay * 30 * indexWriteUnitsPerLogin),
    };
  });
}

/**
 * The partitions engine's own charges (issue 18, point 3). ASSUMPTION, not a quote: us-east-1, Step Functions
 * Standard at $0.025 per 1,000 state transitions, retries included, 4,000 transitions a month free
 * (https://aws.amazon.com/step-functions/pricing/); Lambda at $0.20 per million requests
 * (https://aws.amazon.com/lambda/pricing/). Each partition invocation's duration is its share of the writes one
 * invocation would otherwise make, so only the requests are the engine's.
 */
export const enginePricing = {
  region: 'us-east-1',
  usdPerThousandStateTransitions: 0.025,
  freeStateTransitionsPerMonth: 4_000,
  source: 'https://aws.amazon.com/step-functions/pricing/',
  lambdaUsdPerMillionRequests: 0.2,
  lambdaSource: 'https://aws.amazon.com/lambda/pricing/',
} as const;

/**
 * The state transitions of one execution of the partitions state machine (`PeriodicWorker`'s Standard state
 * machine), counted on its synthesized definition: Partitions (the inline Map) → AnyPartitionFailed (Pass) →
 * Verdict (Choice) → TickDone (Succeed) or TickFailed (Fail). An inline Map's iterations are not charged as such
 * (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-transitions.html); the states inside are.
 */
export const transitionsPerExecution = 4;
/**
 * Per partition: InvokePartition (Task) → PartitionDone (Pass), or through its Catch → PartitionFailed (Pass).
 * Each retry of InvokePartition (a throttle, a Lambda service error) adds one.
 */
export const transitionsPerPartition = 2;

export interface EngineCostRow {
  readonly case: 'idle tick' | 'fanned-out tick' | 'month of fanned-out ticks' | 'drain';
  /** The dormant users drained, for a drain. */
  readonly users?: number;
  /** Ticks that start an execution. */
  readonly fannedOutTicks: number;
  /** Ticks of a drain whose work fits one invocation: they run it in the tick, with no engine call. */
  readonly ticksInTheTick: number;
  readonly partitionInvocations: number;
  readonly stateTransitions: number;
  /** Transitions and partition requests, before the free tier (4,000 transitions a month, per account). */
  readonly usd: number;
}

export interface EngineCost {
  readonly pricing: Record<string, string | number>;
  readonly partitions: number;
  readonly capPerPartition: number;
  readonly ticksPerMonth: number;
  readonly rows: EngineCostRow[];
}

const engineUsd = (transitions: number, invocations: number) =>
  (transitions * enginePricing.usdPerThousandStateTransitions) / 1_000 +
  (invocations * enginePricing.lambdaUsdPerMillionRequests) / 1_000_000;

function engineRow(
  kind: EngineCostRow['case'],
  fannedOutTicks: number,
  partitions: number,
  extra: Partial<Pick<EngineCostRow, 'users' | 'ticksInTheTick'>> = {},
): EngineCostRow {
  const partitionInvocations = fannedOutTicks * partitions;
  const stateTransitions =
    fannedOutTicks * transitionsPerExecution + partitionInvocations * transitionsPerPartition;
  return {
    case: kind,
    fannedOutTicks,
    ticksInTheTick: 0,
    ...extra,
    partitionInvocations,
    stateTransitions,
    usd: engineUsd(stateTransitions, partitionInvocations),
  };
}

/**
 * What the engine charges, modelled: an idle tick starts nothing; a tick fans out only when its work exceeds one
 * invocation's cap, to `partitions` invocations of `cap` each (the backlog spread evenly over the shards, so every
 * shard has work until the end); the last tick of a drain, with at most `cap` left, runs in the tick itself.
 */
export function engineCostTable(
  partitions: number = configDefaults.activeShards,
  cap: number = configDefaults.maxPassivationsPerRun,
  drains: readonly number[] = [1_000_000, 10_000_000],
): EngineCost {
  const drainRow = (users: number) => {
    let remaining = users;
    let fannedOut = 0;
    let inTheTick = 0;
    while (remaining > 0) {
      if (remaining > cap) fannedOut += 1;
      else inTheTick += 1;
      remaining -= remaining > cap ? partitions * cap : remaining;
    }
    return engineRow('drain', fannedOut, partitions, { users, ticksInTheTick: inTheTick });
  };
  return {
    pricing: { ...enginePricing },
    partitions,
    capPerPartition: cap,
    ticksPerMonth,
    rows: [
      engineRow('idle tick', 0, partitions),
      engineRow('fanned-out tick', 1, partitions),
      engineRow('month of fanned-out ticks', ticksPerMonth, partitions),
      ...drains.map(drainRow),
    ],
  };
}
