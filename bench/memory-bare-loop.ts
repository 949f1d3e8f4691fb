/**
 * What benchmark 4's child loads in place of the handler for its yardstick: the bare loop of benchmark 2 over the
 * BENCH_STALE_USERS users the parent seeded, bundled and run exactly like the handler, so that the two curves
 * differ only by what the worker does beyond the UpdateItems themselves.
 */
import { loadConfig } from '../functions/shared/config';
import { dayMs } from '../functions/shared/instant';
import { bareLoopClient, benchUserId, passivateAll } from './bare-loop';

/** Generated one at a time: an array of 50,000 ids would be memory the handler does not hold. */
function* seededUserIds(count: number): Generator<string> {
  for (let index = 0; index < count; index += 1) yield benchUserId(index);
}

export async function handler(): Promise<{ outcome: string; passivated: number }> {
  const config = loadConfig(process.env);
  const users = Number(process.env.BENCH_STALE_USERS);
  if (!Number.isInteger(users) || users < 0) throw new Error('BENCH_STALE_USERS must name the seeded count');
  const client = bareLoopClient(config);
  const cutoffIso = new Date(Date.now() - config.inactiveDays * dayMs).toISOString();
  try {
    const passivated = await passivateAll(
      client,
      config,
      seededUserIds(users),
      config.updateConcurrency,
      cutoffIso,
    );
    return { outcome: passivated === users ? 'completed' : 'incomplete', passivated };
  } finally {
    client.destroy();
  }
}
