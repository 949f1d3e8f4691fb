/**
 * Benchmark 6: what an idle tick costs on AWS on-demand pricing, from the measured (modeled) request units.
 *
 * ASSUMPTION, not a quote: us-east-1 on-demand prices after the November 2024 reduction, $0.125 per million
 * read request units and $0.625 per million write request units (AWS pricing page
 * https://aws.amazon.com/dynamodb/pricing/on-demand/; the figures as summarised in
 * https://airbyte.com/data-engineering-resources/dynamodb-pricing). Check the pricing page for your region.
 */
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
