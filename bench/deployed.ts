/**
 * Benchmark 2, as deployed: the checker's function exactly as `cdk synth` bundles it, with the environment the
 * template gives it (logs and metrics on, `NODE_OPTIONS`, `EVENT_BUS_NAME`), run in a child process of its own
 * with a Lambda-like context, against a bare loop of the same conditional UpdateItems in a child of its own. Both
 * reach the engine through the same loopback counting proxy; the function's events go to a local PutEvents
 * stand-in answering after 0 or 15 ms. Each run gets a fresh copy of the same table data. Reported per run: wall
 * and CPU time of the invocation, requests in flight (sampled every 5 ms), users per second, peak RSS, and for the
 * function a timeline of its requests that places the idle slots (see `analyseTimeline`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { envNames } from '../functions/shared/config';
import { usersTable } from '../functions/shared/users-table-schema';
import { type BuildDir, lambdaHeapFlags } from './bundling';
import type { ChildReport } from './child-report';
import { type DeployedFunction, resolveEnvironment } from './deployed-asset';
import { dropTables, freshTables, type SetupClients, seedUsers } from './seeding';
import {
  type InFlightSamples,
  type RequestKind,
  type RequestRecord,
  requestKinds,
  sampleInFlight,
  startCountingProxy,
  startPutEventsServer,
  TrafficRecorder,
} from './traffic';

export const deployedChildEntry = new URL('./deployed-child.ts', import.meta.url).pathname;
export const deployedBareLoopEntry = new URL('./deployed-bare-loop.ts', import.meta.url).pathname;

/** `off`: the function deployed without an event bus; a number: PutEvents answers after that many ms. */
export type EventsMode = 'off' | number;
export type DeployedRunner = 'function' | 'bare';

export interface DeployedSample {
  readonly runner: DeployedRunner;
  /** The function's events; `off` for the bare loop, which publishes none. */
  readonly events: EventsMode;
  readonly users: number;
  /** The child ran under `taskset -c 0`: one core. */
  readonly pinned: boolean;
  /** Conditional UpdateItems the engine accepted (HTTP 200 at the proxy): independent of what the code reports. */
  readonly passivated: number;
  readonly outcome: string;
  readonly error: string | undefined;
  readonly importMs: number;
  /** The invocation alone (not the import), in seconds. */
  readonly wallSeconds: number;
  /** CPU of the child during the invocation, user + system, in ms. */
  readonly cpuMs: number;
  readonly cpuUserMs: number;
  readonly cpuSystemMs: number;
  readonly maxRssBytes: number;
  readonly usersPerSecond: number;
  /** Passivated users per second of the child's CPU time: the rate one fully used vCPU would give. */
  readonly usersPerCpuSecond: number;
  /** Mean DynamoDB requests in flight at the proxy, sampled every 5 ms over the invocation. */
  readonly meanInFlight: number;
  /** …of which passivation UpdateItems. */
  readonly meanUpdatesInFlight: number;
  /** Mean PutEvents calls in flight, sampled. */
  readonly meanEventsInFlight: number;
  /** Entries the PutEvents stand-in received. */
  readonly eventsPublished: number;
  /** Invocation start → first request at the proxy, and → first passivation write (both pay the SDK's warm-up). */
  readonly firstRequestMs: number;
  readonly firstWriteMs: number;
  /** Passivations per second from the first write's start to the last write's end. */
  readonly writePhaseRate: number;
  readonly requests: Readonly<Record<RequestKind, number>>;
  /** TCP connections the child opened (proxy and events endpoint). */
  readonly connections: number;
  /** The child's stdout (its Powertools log lines and EMF metrics), as Lambda would ship it to CloudWatch. */
  readonly logLines: number;
  /** 1-, 5- and 15-minute load averages when the run started. */
  readonly loadAverage: readonly number[];
  readonly timeline: Timeline | undefined;
}

/** Where the function's invocation spent its time, from the requests it sent. */
export interface Timeline {
  /** Invocation start → first passivation write: lease, breaker state, the breaker's pass over the index, … */
  readonly headMs: number;
  /** Requests before the first write, by kind: how many and the span from the first's start to the last's end. */
  readonly head: Readonly<Partial<Record<RequestKind, { readonly count: number; readonly spanMs: number }>>>;
  /**
   * The requests that started before the first write, in order, consecutive ones of the same kind and operation
   * as one step: how many, the first one's start and the last one's end, in ms from the invocation's start.
   */
  readonly headRequests: readonly {
    readonly kind: RequestKind;
    readonly operation: string;
    readonly count: number;
    readonly startMs: number;
    readonly endMs: number;
  }[];
  /** First write start → last write end. */
  readonly writePhaseMs: number;
  /** Last write end → invocation end: events of the last pages, the breaker's backlog, history, release, metrics. */
  readonly tailMs: number;
  /** Time-weighted mean of passivation writes in flight over the write phase (exact, from the records). */
  readonly meanUpdatesInWritePhase: number;
  /** Share of the write phase's slot-time left idle: 1 − mean writes in flight ÷ concurrency. */
  readonly idleSlotShare: number;
  /** Sampled mean writes in flight while a PutEvents call was in flight, and while none was. */
  readonly updatesWhileEvents: number | undefined;
  readonly updatesWithoutEvents: number | undefined;
  /** Consecutive pages of one shard: the gap from the last write of a page to the first write of the next. */
  readonly pageTransitions: number;
  readonly medianPageGapMs: number | undefined;
  readonly meanPageGapMs: number | undefined;
  /** Of that gap, the part after the page's last write until its events were answered (mean over transitions). */
  readonly meanEventsWaitMs: number | undefined;
  /** …and the part spent waiting for the next page's Query (prefetched; should be 0). */
  readonly meanQueryWaitMs: number | undefined;
  /** Writes of a page: the span from its first write's start to its last write's end (median), and its size. */
  readonly medianPageWriteMs: number | undefined;
  readonly meanPageSize: number | undefined;
  /** PutEvents calls. */
  readonly putEventsCalls: number;
  /** Median time at the proxy of a candidate page's Query and of a passivation write: the engine's side. */
  readonly medianPageQueryMs: number | undefined;
  readonly medianWriteMs: number | undefined;
  /** Shards' last writes: from the first shard to finish to the last (limiter fairness / the run's tail). */
  readonly shardFinishSpreadMs: number | undefined;
  /** Mean writes in flight over that spread (exact): how well the last shards keep the slots busy. */
  readonly updatesInFinishSpread: number | undefined;
  /** Mean writes in flight in equal slices of the invocation, for a sparkline. */
  readonly updatesSeries: readonly number[];
}

export interface DeployedComparison {
  readonly users: number;
  readonly events: EventsMode;
  readonly pinned: boolean;
  /** function ÷ bare wall time, per round, and their median. */
  readonly wallRatios: readonly number[];
  readonly wallRatio: number;
  /** function ÷ bare CPU per passivated user, per round, and their median. */
  readonly cpuPerUserRatios: readonly number[];
  readonly cpuPerUserRatio: number;
  /** Medians over the rounds, of each runner. */
  readonly function: MedianFigures;
  readonly bare: MedianFigures;
}

export interface MedianFigures {
  readonly wallSeconds: number;
  readonly cpuMs: number;
  readonly usersPerSecond: number;
  readonly usersPerCpuSecond: number;
  readonly meanInFlight: number;
  readonly meanUpdatesInFlight: number;
  readonly maxRssBytes: number;
}

/** What was measured, byte for byte: the synthesized function's asset. */
export interface DeployedAssetSummary {
  readonly logicalId: string;
  readonly entryBytes: number;
  readonly entrySha256: string;
  readonly runtime: string;
  readonly memorySize: number;
  readonly timeoutSeconds: number;
}

export function assetSummary(fn: DeployedFunction): DeployedAssetSummary {
  return {
    logicalId: fn.logicalId,
    entryBytes: fn.entryBytes,
    entrySha256: fn.entrySha256,
    runtime: fn.runtime,
    memorySize: fn.memorySize,
    timeoutSeconds: fn.timeoutSeconds,
  };
}

export interface DeployedResult {
  readonly asset: DeployedAssetSummary;
  /** The environment the function ran with, tables and endpoints replaced by local ones (events mode 15 ms). */
  readonly environment: Readonly<Record<string, string>>;
  readonly nodeFlags: readonly string[];
  readonly concurrency: number;
  /** Added by the proxy to every DynamoDB request. */
  readonly dynamoDelayMs: number;
  readonly sizes: readonly number[];
  readonly eventModes: readonly EventsMode[];
  readonly rounds: number;
  readonly warmupUsers: number;
  /** Every run in the order it ran. */
  readonly samples: DeployedSample[];
  readonly comparisons: DeployedComparison[];
  /** Peak RSS of the function (and of the bare loop) at the largest size ÷ the smallest, events at the last mode. */
  readonly rssGrowth: { readonly function: number; readonly bare: number } | undefined;
  /** Why the pinned figures are missing, when they are. */
  readonly pinnedNote: string | undefined;
}

export interface DeployedOptions {
  readonly endpoint: string;
  readonly setup: SetupClients;
  readonly fn: DeployedFunction;
  readonly buildDir: BuildDir;
  readonly sizes: readonly number[];
  readonly eventModes: readonly EventsMode[];
  /** Rounds per size: bare, then the function in each events mode, the order reversed every other round. */
  readonly rounds: number;
  /**
   * Users of an unmeasured bare loop and function run first: the engine (a JVM, for DynamoDB Local) and the
   * proxy warm up before anything is measured. 0: none.
   */
  readonly warmupUsers?: number;
  /** Sizes measured once more with each child pinned to one core (none: no CPU-bound figure). */
  readonly pinnedSizes: readonly number[];
  readonly concurrency?: number;
  /**
   * A delay the proxy adds to every DynamoDB request, standing in for the network (default 0: the engine's own
   * pace). With enough of it the run is bound by round trips, not by CPU, and the pipeline's shape decides.
   */
  readonly dynamoDelayMs?: number;
  readonly progress?: (message: string) => void;
}

/** What lifts the breaker and the per-run cap, so a throughput run is not stopped by them (tested elsewhere). */
const liftedLimits = {
  [envNames.breakerMaxStale]: '100000000',
  [envNames.breakerMaxStalePercent]: '100',
  [envNames.maxPassivationsPerRun]: '10000000',
} as const;

export async function measureDeployed(options: DeployedOptions): Promise<DeployedResult> {
  const { fn } = options;
  const concurrency = options.concurrency ?? Number(fn.environment[envNames.updateConcurrency] ?? 16);
  for (const name of Object.keys(liftedLimits)) {
    if (!(name in fn.environment)) throw new Error(`the template sets no ${name}: was it renamed?`);
  }
  const functionChild = await options.buildDir.bundle(deployedChildEntry, 'deployed-child');
  const bareChild = await options.buildDir.bundle(deployedBareLoopEntry, 'deployed-bare-loop');
  const nodeFlags = ['--expose-gc', ...lambdaHeapFlags(fn.memorySize)];
  const recorder = new TrafficRecorder();
  const proxy = await startCountingProxy(options.endpoint, recorder, usersTable.attributes.userId);
  const events = await startPutEventsServer(recorder);
  const dynamoDelayMs = options.dynamoDelayMs ?? 0;
  proxy.setDelayMs(dynamoDelayMs);
  const pinAvailable = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  const samples: DeployedSample[] = [];
  let shownEnvironment: Record<string, string> = {};
  try {
    const runOne = async (
      runner: DeployedRunner,
      mode: EventsMode,
      users: number,
      now: Date,
      pinned: boolean,
    ): Promise<DeployedSample> => {
      const tables = await freshTables(options.setup, `bench-deployed-${runner}`);
      try {
        await seedUsers(options.setup, tables.usersTableName, { count: users, stale: true, now });
        const lambdaEnv = resolveEnvironment(fn, tables, {
          ...liftedLimits,
          [envNames.eventBusName]:
            mode === 'off' ? undefined : (fn.environment[envNames.eventBusName] as string),
        });
        const env: Record<string, string> = {
          ...lambdaRuntimeEnv(fn),
          ...lambdaEnv,
          AWS_ENDPOINT_URL_DYNAMODB: proxy.endpoint,
          AWS_ENDPOINT_URL_EVENTBRIDGE: events.endpoint,
        };
        if (runner === 'function' && mode !== 'off') shownEnvironment = env;
        events.setDelayMs(mode === 'off' ? 0 : mode);
        const childEnv =
          runner === 'function'
            ? {
                ...env,
                BENCH_HANDLER_URL: pathToFileURL(fn.entryFile).href,
                BENCH_HANDLER_EXPORT: fn.exportName,
                BENCH_TIMEOUT_MS: String(fn.timeoutSeconds * 1000),
              }
            : {
                // The yardstick gets only what it needs: the endpoint, credentials, the table, the runtime flags.
                ...lambdaRuntimeEnv(fn),
                NODE_OPTIONS: lambdaEnv.NODE_OPTIONS ?? '',
                AWS_ENDPOINT_URL_DYNAMODB: proxy.endpoint,
                [envNames.usersTableName]: tables.usersTableName,
                [envNames.inactiveDays]: lambdaEnv[envNames.inactiveDays] ?? '30',
                BENCH_USERS: String(users),
                BENCH_CONCURRENCY: String(concurrency),
              };
        recorder.clear();
        const loadAverage = loadavg();
        const sampler = sampleInFlight(recorder, 5);
        const file = runner === 'function' ? functionChild.file : bareChild.file;
        let outcome: ChildOutcome;
        try {
          outcome = await runChild(file, nodeFlags, childEnv, pinned);
        } finally {
          sampler.stop();
        }
        return summarise(runner, runner === 'function' ? mode : 'off', users, pinned, loadAverage, {
          ...outcome,
          records: [...recorder.records],
          inFlight: sampler.samples,
          connections: recorder.connections,
          concurrency,
        });
      } finally {
        await dropTables(options.setup, tables);
      }
    };

    const round = async (users: number, index: number, pinned: boolean) => {
      const now = new Date();
      const order: [DeployedRunner, EventsMode][] = [
        ['bare', 'off'],
        ...options.eventModes.map((mode): [DeployedRunner, EventsMode] => ['function', mode]),
      ];
      if (index % 2 === 1) order.reverse();
      for (const [runner, mode] of order) {
        options.progress?.(
          `as deployed: ${users} users, ${runner === 'bare' ? 'bare loop' : `function, events ${eventsLabel(mode)}`}` +
            `${pinned ? ', pinned to one core' : ''} (round ${index + 1}; load ${loadavg()[0]?.toFixed(2)})`,
        );
        samples.push(await runOne(runner, mode, users, now, pinned));
      }
    };

    const warmupUsers = options.warmupUsers ?? 0;
    if (warmupUsers > 0) {
      options.progress?.(
        `as deployed: warming up the engine with ${warmupUsers} users (bare loop, function)`,
      );
      const now = new Date();
      await runOne('bare', 'off', warmupUsers, now, false);
      await runOne(
        'function',
        options.eventModes[options.eventModes.length - 1] ?? 'off',
        warmupUsers,
        now,
        false,
      );
    }
    for (const users of options.sizes) {
      for (let index = 0; index < options.rounds; index += 1) await round(users, index, false);
    }
    if (pinAvailable) {
      for (const users of options.pinnedSizes) await round(users, 0, true);
    }
  } finally {
    await proxy.stop();
    await events.stop();
  }

  const comparisons = compare(samples, options.sizes, options.eventModes, false);
  if (pinAvailable) comparisons.push(...compare(samples, options.pinnedSizes, options.eventModes, true));
  return {
    asset: assetSummary(fn),
    environment: shownEnvironment,
    nodeFlags,
    concurrency,
    dynamoDelayMs,
    sizes: options.sizes,
    eventModes: options.eventModes,
    rounds: options.rounds,
    warmupUsers: options.warmupUsers ?? 0,
    samples,
    comparisons,
    rssGrowth: rssGrowth(samples, options.sizes, options.eventModes),
    pinnedNote: pinAvailable ? undefined : 'taskset is not available: no pinned figures',
  };
}

export const eventsLabel = (mode: EventsMode): string => (mode === 'off' ? 'off' : `${mode} ms`);

/** What Lambda's runtime puts in every function's environment, besides the template's variables. */
export function lambdaRuntimeEnv(fn: DeployedFunction): Record<string, string> {
  const name = 'PassiveUsersStack-bench';
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
    AWS_LAMBDA_FUNCTION_NAME: name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: 'bench',
    LAMBDA_TASK_ROOT: fn.assetDir,
  };
}

export interface ChildOutcome {
  readonly report: ChildReport;
  readonly logLines: number;
}

export async function runChild(
  file: string,
  nodeFlags: readonly string[],
  env: Record<string, string>,
  pinned: boolean,
): Promise<ChildOutcome> {
  const command = pinned ? 'taskset' : process.execPath;
  const args = pinned ? ['-c', '0', process.execPath, ...nodeFlags, file] : [...nodeFlags, file];
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  let logLines = 0;
  let stderr = '';
  let reportText = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    for (const byte of chunk) if (byte === 10) logLines += 1;
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8192);
  });
  const reportStream = child.stdio[3] as NodeJS.ReadableStream;
  reportStream.on('data', (chunk: Buffer) => {
    reportText += chunk.toString();
  });
  const [code] = (await once(child, 'close')) as [number | null];
  const line = reportText.trim();
  if (code !== 0 || !line.startsWith('{')) {
    throw new Error(`as-deployed child ${file} failed (exit ${code}): ${stderr}`);
  }
  return { report: JSON.parse(line) as ChildReport, logLines };
}

interface Observed extends ChildOutcome {
  readonly records: RequestRecord[];
  readonly inFlight: InFlightSamples;
  readonly connections: number;
  readonly concurrency: number;
}

export function summarise(
  runner: DeployedRunner,
  events: EventsMode,
  users: number,
  pinned: boolean,
  loadAverage: number[],
  observed: Observed,
): DeployedSample {
  const { report, records, inFlight } = observed;
  const passivated = records.filter((r) => r.kind === 'UpdateItem' && r.status === 200).length;
  const writes = records.filter((r) => r.kind === 'UpdateItem');
  const firstWrite = Math.min(...writes.map((r) => r.startMs));
  const lastWrite = Math.max(...writes.map((r) => r.endMs));
  const wallSeconds = (report.endMs - report.startMs) / 1000;
  const cpuMs = report.cpuUserMs + report.cpuSystemMs;
  const within = inFlight.atMs.flatMap((at, i) => (at >= report.startMs && at <= report.endMs ? [i] : []));
  const meanOf = (series: number[]) =>
    within.length === 0 ? 0 : within.reduce((sum, i) => sum + (series[i] ?? 0), 0) / within.length;
  const requests = Object.fromEntries(
    requestKinds.map((kind) => [kind, records.filter((r) => r.kind === kind).length]),
  ) as Record<RequestKind, number>;
  return {
    runner,
    events,
    users,
    pinned,
    passivated,
    outcome: report.outcome,
    error: report.error,
    importMs: report.importMs,
    wallSeconds,
    cpuMs,
    cpuUserMs: report.cpuUserMs,
    cpuSystemMs: report.cpuSystemMs,
    maxRssBytes: report.maxRssBytes,
    usersPerSecond: passivated / wallSeconds,
    usersPerCpuSecond: passivated / (cpuMs / 1000),
    meanInFlight: meanOf(inFlight.dynamo),
    meanUpdatesInFlight: meanOf(inFlight.updates),
    meanEventsInFlight: meanOf(inFlight.events),
    firstRequestMs: Math.min(...records.map((r) => r.startMs)) - report.startMs,
    firstWriteMs: firstWrite - report.startMs,
    writePhaseRate: passivated / ((lastWrite - firstWrite) / 1000),
    eventsPublished: records
      .filter((r) => r.kind === 'PutEvents')
      .reduce((sum, r) => sum + (r.userIds?.length ?? 0), 0),
    requests,
    connections: observed.connections,
    logLines: observed.logLines,
    loadAverage,
    timeline:
      runner === 'function'
        ? analyseTimeline(records, inFlight, report.startMs, report.endMs, observed.concurrency)
        : undefined,
  };
}

/**
 * Places the function's idle slots. Each Query page of candidates is tied to the writes of the users it returned
 * and to the PutEvents calls naming them; consecutive pages of a shard give the gap between one page's last write
 * and the next page's first, and how much of that gap went to the first page's events or to the next page's read.
 */
export function analyseTimeline(
  records: readonly RequestRecord[],
  inFlight: InFlightSamples,
  startMs: number,
  endMs: number,
  concurrency: number,
): Timeline {
  const writes = records.filter((r) => r.kind === 'UpdateItem');
  const firstWrite = Math.min(...writes.map((r) => r.startMs));
  const lastWrite = Math.max(...writes.map((r) => r.endMs));
  const hasWrites = writes.length > 0;
  const head: Partial<Record<RequestKind, { count: number; spanMs: number }>> = {};
  for (const kind of requestKinds) {
    const before = records.filter((r) => r.kind === kind && (!hasWrites || r.startMs < firstWrite));
    if (before.length === 0) continue;
    head[kind] = {
      count: before.length,
      spanMs: Math.max(...before.map((r) => r.endMs)) - Math.min(...before.map((r) => r.startMs)),
    };
  }
  const headRequests: {
    kind: RequestKind;
    operation: string;
    count: number;
    startMs: number;
    endMs: number;
  }[] = [];
  for (const r of records.filter((record) => !hasWrites || record.startMs < firstWrite)) {
    const last = headRequests[headRequests.length - 1];
    const endMs = Math.round(r.endMs - startMs);
    if (last && last.kind === r.kind && last.operation === r.operation) {
      last.count += 1;
      last.endMs = Math.max(last.endMs, endMs);
    } else {
      headRequests.push({
        kind: r.kind,
        operation: r.operation,
        count: 1,
        startMs: Math.round(r.startMs - startMs),
        endMs,
      });
    }
  }
  const writePhaseMs = hasWrites ? lastWrite - firstWrite : 0;
  const busy = writes.reduce((sum, r) => sum + (r.endMs - r.startMs), 0);
  const meanUpdatesInWritePhase = writePhaseMs > 0 ? busy / writePhaseMs : 0;

  const writeOf = new Map(writes.map((r) => [r.key ?? '', r]));
  const eventsOf = new Map<string, RequestRecord>();
  const putEvents = records.filter((r) => r.kind === 'PutEvents');
  for (const call of putEvents) for (const id of call.userIds ?? []) eventsOf.set(id, call);

  interface Page {
    queryEnd: number;
    firstWriteStart: number;
    lastWriteEnd: number;
    eventsEnd: number | undefined;
    size: number;
  }
  const pagesByShard = new Map<string, Page[]>();
  for (const query of records
    .filter((r) => r.kind === 'CandidatePage')
    .sort((x, y) => x.startMs - y.startMs)) {
    const pageWrites = (query.userIds ?? []).flatMap((id) => {
      const write = writeOf.get(id);
      return write ? [write] : [];
    });
    if (pageWrites.length === 0) continue;
    const pageEvents = (query.userIds ?? []).flatMap((id) => {
      const call = eventsOf.get(id);
      return call ? [call] : [];
    });
    const list = pagesByShard.get(query.key ?? '') ?? [];
    list.push({
      queryEnd: query.endMs,
      firstWriteStart: Math.min(...pageWrites.map((r) => r.startMs)),
      lastWriteEnd: Math.max(...pageWrites.map((r) => r.endMs)),
      eventsEnd: pageEvents.length > 0 ? Math.max(...pageEvents.map((r) => r.endMs)) : undefined,
      size: pageWrites.length,
    });
    pagesByShard.set(query.key ?? '', list);
  }
  const gaps: number[] = [];
  const eventWaits: number[] = [];
  const queryWaits: number[] = [];
  const pageWrites: number[] = [];
  const pageSizes: number[] = [];
  const shardEnds: number[] = [];
  for (const pages of pagesByShard.values()) {
    pages.forEach((page, i) => {
      pageWrites.push(page.lastWriteEnd - page.firstWriteStart);
      pageSizes.push(page.size);
      const next = pages[i + 1];
      if (!next) return;
      gaps.push(next.firstWriteStart - page.lastWriteEnd);
      eventWaits.push(Math.max(0, (page.eventsEnd ?? page.lastWriteEnd) - page.lastWriteEnd));
      queryWaits.push(Math.max(0, next.queryEnd - Math.max(page.lastWriteEnd, page.eventsEnd ?? 0)));
    });
    const last = pages[pages.length - 1];
    if (last) shardEnds.push(last.lastWriteEnd);
  }

  const firstShardDone = Math.min(...shardEnds);
  const spreadMs = shardEnds.length > 0 ? lastWrite - firstShardDone : 0;
  const overlapping = writes.reduce(
    (sum, r) => sum + Math.max(0, Math.min(r.endMs, lastWrite) - Math.max(r.startMs, firstShardDone)),
    0,
  );
  const inRun = inFlight.atMs.flatMap((at, i) => (at >= startMs && at <= endMs ? [i] : []));
  const meanWhere = (keep: (i: number) => boolean) => {
    const chosen = inRun.filter(keep);
    return chosen.length === 0
      ? undefined
      : chosen.reduce((sum, i) => sum + (inFlight.updates[i] ?? 0), 0) / chosen.length;
  };
  const inWrites = (i: number) =>
    (inFlight.atMs[i] ?? 0) >= firstWrite && (inFlight.atMs[i] ?? 0) <= lastWrite;
  const slices = 40;
  const sliceMs = (endMs - startMs) / slices;
  const updatesSeries = Array.from({ length: slices }, (_, s) => {
    const from = startMs + s * sliceMs;
    const chosen = inRun.filter(
      (i) => (inFlight.atMs[i] ?? 0) >= from && (inFlight.atMs[i] ?? 0) < from + sliceMs,
    );
    return chosen.length === 0
      ? 0
      : chosen.reduce((sum, i) => sum + (inFlight.updates[i] ?? 0), 0) / chosen.length;
  });
  return {
    headMs: hasWrites ? firstWrite - startMs : endMs - startMs,
    head,
    headRequests,
    writePhaseMs,
    tailMs: hasWrites ? endMs - lastWrite : 0,
    meanUpdatesInWritePhase,
    idleSlotShare: 1 - meanUpdatesInWritePhase / concurrency,
    updatesWhileEvents: meanWhere((i) => inWrites(i) && (inFlight.events[i] ?? 0) > 0),
    updatesWithoutEvents: meanWhere((i) => inWrites(i) && (inFlight.events[i] ?? 0) === 0),
    pageTransitions: gaps.length,
    medianPageGapMs: medianOrUndefined(gaps),
    meanPageGapMs: meanOrUndefined(gaps),
    meanEventsWaitMs: meanOrUndefined(eventWaits),
    meanQueryWaitMs: meanOrUndefined(queryWaits),
    medianPageWriteMs: medianOrUndefined(pageWrites),
    meanPageSize: meanOrUndefined(pageSizes),
    putEventsCalls: putEvents.length,
    medianPageQueryMs: medianOrUndefined(
      records.filter((r) => r.kind === 'CandidatePage').map((r) => r.endMs - r.startMs),
    ),
    medianWriteMs: medianOrUndefined(writes.map((r) => r.endMs - r.startMs)),
    shardFinishSpreadMs: shardEnds.length > 0 ? Math.max(...shardEnds) - Math.min(...shardEnds) : undefined,
    updatesInFinishSpread: spreadMs > 0 ? overlapping / spreadMs : undefined,
    updatesSeries,
  };
}

function compare(
  samples: readonly DeployedSample[],
  sizes: readonly number[],
  modes: readonly EventsMode[],
  pinned: boolean,
): DeployedComparison[] {
  const comparisons: DeployedComparison[] = [];
  for (const users of sizes) {
    const here = samples.filter((s) => s.users === users && s.pinned === pinned);
    const bare = here.filter((s) => s.runner === 'bare');
    for (const mode of modes) {
      const fn = here.filter((s) => s.runner === 'function' && s.events === mode);
      // Round k's function run against round k's bare run: the same data, minutes apart at most.
      const rounds = Math.min(fn.length, bare.length);
      if (rounds === 0) continue;
      const wallRatios = Array.from(
        { length: rounds },
        (_, k) => (fn[k]?.wallSeconds ?? Number.NaN) / (bare[k]?.wallSeconds ?? Number.NaN),
      );
      const cpuPerUserRatios = Array.from({ length: rounds }, (_, k) => {
        const f = fn[k] as DeployedSample;
        const b = bare[k] as DeployedSample;
        return f.cpuMs / f.passivated / (b.cpuMs / b.passivated);
      });
      comparisons.push({
        users,
        events: mode,
        pinned,
        wallRatios,
        wallRatio: median(wallRatios),
        cpuPerUserRatios,
        cpuPerUserRatio: median(cpuPerUserRatios),
        function: medians(fn),
        bare: medians(bare),
      });
    }
  }
  return comparisons;
}

function medians(samples: readonly DeployedSample[]): MedianFigures {
  const of = (pick: (s: DeployedSample) => number) => median(samples.map(pick));
  return {
    wallSeconds: of((s) => s.wallSeconds),
    cpuMs: of((s) => s.cpuMs),
    usersPerSecond: of((s) => s.usersPerSecond),
    usersPerCpuSecond: of((s) => s.usersPerCpuSecond),
    meanInFlight: of((s) => s.meanInFlight),
    meanUpdatesInFlight: of((s) => s.meanUpdatesInFlight),
    maxRssBytes: of((s) => s.maxRssBytes),
  };
}

function rssGrowth(
  samples: readonly DeployedSample[],
  sizes: readonly number[],
  modes: readonly EventsMode[],
): DeployedResult['rssGrowth'] {
  const smallest = Math.min(...sizes);
  const largest = Math.max(...sizes);
  const mode = modes[modes.length - 1];
  if (smallest === largest || mode === undefined) return undefined;
  const rss = (runner: DeployedRunner, users: number) =>
    median(
      samples
        .filter(
          (s) =>
            !s.pinned && s.runner === runner && s.users === users && (runner === 'bare' || s.events === mode),
        )
        .map((s) => s.maxRssBytes),
    );
  return {
    function: rss('function', largest) / rss('function', smallest),
    bare: rss('bare', largest) / rss('bare', smallest),
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

const medianOrUndefined = (values: readonly number[]) => (values.length === 0 ? undefined : median(values));
const meanOrUndefined = (values: readonly number[]) =>
  values.length === 0 ? undefined : values.reduce((sum, value) => sum + value, 0) / values.length;
