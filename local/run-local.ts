/**
 * `npm start`: runs every worker of the stack (`PassiveUsersStack`'s `workers`: the passive-user checker, the
 * activity report) through the kit, `periodicWorker(definition, { env })`, against an embedded DynamoDB, each on
 * its own schedule's period, with nothing else installed. Tables come from the same schema module the stack
 * deploys; demo users are seeded into an empty table. `--endpoint` points it at a running engine instead
 * (`npm run local:engine`, DynamoDB Local), `--aws` at real AWS.
 *
 * The default output is for a person: one line per worker run, and for the checker what happened to each user
 * and why. `--json` prints the workers' JSON logs and each run record as a JSON line instead.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { App, type CfnResource, Stack } from 'aws-cdk-lib';
import { localRunEvents, printedEvents } from '../cli/checker/local-events';
import { activityReport } from '../functions/activity-report/handler';
import type { ActivityReport } from '../functions/activity-report/report';
import { checkerDepsFromEnvironment, passiveUserChecker } from '../functions/passive-user-checker/handler';
import type { CheckerSummary } from '../functions/passive-user-checker/ports';
import { periodicWorker } from '../functions/periodic-worker/periodic-worker';
import type { JobSummary, RunRecord } from '../functions/periodic-worker/ports';
import { configDefaults, envNames } from '../functions/shared/config';
import { canonicalInstant, dayMs, isCanonicalUtcInstant } from '../functions/shared/instant';
import { userStatus, usersTable } from '../functions/shared/users-table-schema';
import type { PeriodicWorker } from '../infra/constructs/periodic-worker';
import { PassiveUsersStack } from '../infra/passive-users-stack';
import { demoUsers, isTableEmpty, putUsers, type UserItem } from './checker/seed';
import { type Engine, engineClientConfig, engineKinds, startEngine } from './engine';
import { createTables } from './tables';

const usage = `Usage: npm start -- [options]

Runs every worker of the stack (the passive-user checker, the activity report) through the worker kit against an
embedded DynamoDB, each on its own schedule's period, and prints one line per run.

Options:
  --once                 run each worker once and exit
  --worker <name>        run only this worker (passive-user-checker, activity-report)
  --every <seconds>      one period for every worker instead of each schedule's own
  --dry-run              invoke with {"dryRun": true}: report, write nothing
  --json                 print the workers' JSON logs and each run record as a JSON line
  --engine <name>        embedded engine: ${engineKinds.join(' | ')} (default: $DYNAMODB_ENGINE or dynalite)
  --endpoint <url>       use a running DynamoDB endpoint instead (also: $AWS_ENDPOINT_URL_DYNAMODB;
                         npm run local:engine starts one)
  --aws                  use real AWS with the current credentials; needs USERS_TABLE_NAME and LOCK_TABLE_NAME
  --timeout <seconds>    simulated function timeout (default: each worker's, as deployed)
  --no-seed              do not seed demo users into an empty table
  -h, --help             show this help

Every worker setting is an environment variable (INACTIVE_DAYS, ACTIVE_SHARDS, ...; see README); what is not set
is what the stack deploys.`;

class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

interface Options {
  readonly once: boolean;
  readonly worker: string | undefined;
  readonly everySeconds: number | undefined;
  readonly dryRun: boolean;
  readonly json: boolean;
  readonly engine: string | undefined;
  readonly endpoint: string | undefined;
  readonly aws: boolean;
  readonly timeoutSeconds: number | undefined;
  readonly seed: boolean;
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      once: { type: 'boolean', default: false },
      worker: { type: 'string' },
      every: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      engine: { type: 'string' },
      endpoint: { type: 'string' },
      aws: { type: 'boolean', default: false },
      timeout: { type: 'string' },
      'no-seed': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return undefined;
  const positive = (name: string, raw: string | undefined, max: number) => {
    if (raw === undefined) return undefined;
    // Plain decimals only, as the CLI's flags: " 30", "030", "1e3" are refused, not guessed.
    const value = /^(0|[1-9]\d*)(\.\d+)?$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isFinite(value) || value <= 0 || value > max) {
      throw new UsageError(`--${name} must be a number of seconds from 0 to ${max}, got "${raw}"`);
    }
    return value;
  };
  if (values.engine !== undefined && !(engineKinds as readonly string[]).includes(values.engine)) {
    throw new UsageError(`--engine must be one of ${engineKinds.join(', ')}, got "${values.engine}"`);
  }
  const endpoint = values.endpoint ?? (process.env.AWS_ENDPOINT_URL_DYNAMODB || undefined);
  if (values.aws && endpoint)
    throw new UsageError('--aws and --endpoint (or AWS_ENDPOINT_URL_DYNAMODB) exclude each other');
  if (endpoint !== undefined && !/^https?:\/\/[^\s]+$/.test(endpoint)) {
    throw new UsageError(`--endpoint must be an http(s) URL, got "${endpoint}"`);
  }
  return {
    once: values.once,
    worker: values.worker,
    everySeconds: positive('every', values.every, 86_400),
    dryRun: values['dry-run'],
    json: values.json,
    engine: values.engine,
    endpoint,
    aws: values.aws,
    timeoutSeconds: positive('timeout', values.timeout, 900),
    seed: !values['no-seed'],
  };
}

type Print = (line: string) => void;
type AnyRecord = RunRecord<JobSummary> & Record<string, unknown>;

/** One worker as the stack deploys it: its name, schedule, timeout and the environment its function gets. */
interface StackWorker {
  readonly name: string;
  readonly expression: string;
  /** The shortest interval between two runs: a local run ticks on it. */
  readonly periodSeconds: number;
  readonly timeoutSeconds: number;
  /** The function's environment variables with a literal value (table names are the stack's references). */
  readonly environment: Readonly<Record<string, string>>;
}

/** The stack's workers, read from the stack itself so a worker added there is one `npm start` runs too. */
function stackWorkers(): StackWorker[] {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new PassiveUsersStack(app, 'PassiveUsersStack');
  return stack.workers.map((worker: PeriodicWorker) => {
    const cfn = worker.function.node.defaultChild as CfnResource & { environment?: unknown };
    const resolved = Stack.of(worker).resolve(cfn.environment) as { variables?: Record<string, unknown> };
    const environment = Object.fromEntries(
      Object.entries(resolved?.variables ?? {}).filter(
        (entry): entry is [string, string] => typeof entry[1] === 'string' && entry[0] !== 'NODE_OPTIONS',
      ),
    );
    return {
      name: worker.workerName,
      expression: worker.intervals.expression,
      periodSeconds: worker.intervals.shortestSeconds,
      timeoutSeconds: worker.function.timeout?.toSeconds() ?? 60,
      environment,
    };
  });
}

interface LocalWorker {
  readonly name: string;
  readonly stack: StackWorker;
  readonly handler: (
    event: unknown,
    context: { awsRequestId: string; getRemainingTimeInMillis(): number },
  ) => Promise<AnyRecord>;
  /** Lines for a person about one run. */
  describe(record: AnyRecord): Promise<string[]>;
}

const secondsText = (seconds: number): string =>
  seconds % 86_400 === 0
    ? `${seconds / 86_400} d`
    : seconds % 3600 === 0
      ? `${seconds / 3600} h`
      : seconds % 60 === 0
        ? `${seconds / 60} min`
        : `${seconds} s`;

/** "completed in 144 ms", "lock-held (held by …)", "paused (…)" */
function outcomeText(record: AnyRecord): string {
  const duration = typeof record.durationMs === 'number' ? ` in ${record.durationMs} ms` : '';
  const holder = record.lockHolder as { owner?: string } | undefined;
  if (record.outcome === 'lock-held')
    return `lock-held: another run holds the lease${holder?.owner ? ` (${holder.owner})` : ''}`;
  if (record.outcome === 'paused') return 'paused: npm run cli -- resume <worker> lets it run again';
  const stop = typeof record.stopReason === 'string' ? `, stopped: ${record.stopReason}` : '';
  return `${String(record.outcome)}${duration}${stop}`;
}

const a = usersTable.attributes;

/** Every user of the table, by id (local tooling only: the worker itself never scans). */
async function usersById(
  documents: DynamoDBDocumentClient,
  tableName: string,
): Promise<Map<string, UserItem>> {
  const users = new Map<string, UserItem>();
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) users.set(String(item[a.userId]), item as UserItem);
    start = page.LastEvaluatedKey;
  } while (start !== undefined && users.size < 10_000);
  return users;
}

const daysAgo = (iso: string, now: Date): string => {
  const days = Math.floor((now.getTime() - Date.parse(iso)) / dayMs);
  return days === 0 ? 'today' : days === 1 ? '1 day ago' : `${days} days ago`;
};

/** What happened to one user in a checker run, and why, from the item before and after. */
export function userVerdict(
  before: UserItem,
  after: UserItem | undefined,
  run: {
    readonly cutoff: string;
    readonly inactiveDays: number;
    readonly dryRun: boolean;
    readonly complete: boolean;
    readonly now: Date;
  },
): { readonly verdict: string; readonly why: string } {
  const stored = before[a.lastLoginAt];
  // Another spelling of an instant is judged as that instant, as the job does.
  const lastLogin = canonicalInstant(stored);
  if (before[a.status] !== userStatus.active) {
    const since = before[a.passivatedAt];
    return {
      verdict: String(before[a.status]),
      why: `not in the index${typeof since === 'string' && isCanonicalUtcInstant(since) ? `, passivated ${daysAgo(since, run.now)}` : ''}`,
    };
  }
  if (after !== undefined && after[a.status] === userStatus.passive) {
    return {
      verdict: 'passivated',
      why: `last login ${daysAgo(String(lastLogin), run.now)}, past the ${run.inactiveDays}-day cutoff`,
    };
  }
  if (lastLogin === undefined) {
    return {
      verdict: 'malformed',
      why: `lastLoginAt ${JSON.stringify(stored)} is not an ISO-8601 instant with a zone: never guessed, out of the index until the next login (npm run cli -- rejected lists it)`,
    };
  }
  if (lastLogin >= run.cutoff) {
    return {
      verdict: 'fresh',
      why: `last login ${daysAgo(lastLogin, run.now)}, inside the ${run.inactiveDays} days`,
    };
  }
  if (before[a.neverPassivate] === true) {
    return { verdict: 'exempt', why: `last login ${daysAgo(lastLogin, run.now)}, but neverPassivate is set` };
  }
  if (run.dryRun) {
    return {
      verdict: 'would passivate',
      why: `last login ${daysAgo(lastLogin, run.now)} (dry run: nothing written)`,
    };
  }
  return {
    verdict: 'stale',
    why: run.complete
      ? `last login ${daysAgo(lastLogin, run.now)}, still active (a write failed or raced a login: see the run's figures)`
      : `last login ${daysAgo(lastLogin, run.now)}, not reached before the run stopped; the next run goes on`,
  };
}

const maxUsersListed = 40;

function checkerWorker(
  stack: StackWorker,
  env: NodeJS.ProcessEnv,
  print: Print,
  json: boolean,
  documents: DynamoDBDocumentClient | undefined,
): LocalWorker {
  const definition = {
    ...passiveUserChecker,
    setup: (e: NodeJS.ProcessEnv) => {
      const deps = checkerDepsFromEnvironment(e);
      // EVENT_BUS_NAME exported in this shell never makes a local run publish to a real bus (see run --local).
      if (deps.events === undefined) return { ...deps, events: printedEvents(json ? print : () => {}) };
      // A person reads the per-user lines instead of the events and the bus notice.
      return { ...deps, ...localRunEvents(deps, false, json ? print : () => {}) };
    },
  };
  const handler = periodicWorker(definition, { env });
  const inactiveDays = Number(env[envNames.inactiveDays] || configDefaults.inactiveDays);
  let listedOnce = false;
  let before: Map<string, UserItem> | undefined;
  const usersTableName = env[envNames.usersTableName] ?? '';
  return {
    name: stack.name,
    stack,
    async handler(event, context) {
      before = documents ? await usersById(documents, usersTableName) : undefined;
      return (await handler(event, context)) as unknown as AnyRecord;
    },
    async describe(record) {
      const r = record as AnyRecord & Partial<CheckerSummary>;
      const figures =
        r.outcome === 'lock-held' || r.outcome === 'paused'
          ? ''
          : r.dryRun
            ? `: would passivate ${r.wouldPassivate ?? 0}, ${r.exempt ?? 0} exempt, ${r.malformed ?? 0} malformed`
            : `: ${r.passivated ?? 0} passivated, ${r.exempt ?? 0} exempt, ${r.malformed ?? 0} malformed, ${r.raceSkipped ?? 0} raced a login, ${r.failed ?? 0} failed`;
      const lines = [`${stack.name}: ${outcomeText(record)}${figures}`];
      if (!documents || before === undefined || typeof r.cutoff !== 'string') return lines;
      const after = await usersById(documents, usersTableName);
      const now = new Date();
      const changed = [...before.keys()].filter(
        (id) => before?.get(id)?.[a.status] !== after.get(id)?.[a.status],
      );
      const ids = listedOnce ? changed : [...before.keys()];
      listedOnce = true;
      const shown = ids.sort().slice(0, maxUsersListed);
      const width = Math.max(0, ...shown.map((id) => id.length));
      for (const id of shown) {
        const user = before.get(id) as UserItem;
        const { verdict, why } = userVerdict(user, after.get(id), {
          cutoff: r.cutoff,
          inactiveDays,
          dryRun: r.dryRun === true,
          complete: r.complete === true,
          now,
        });
        lines.push(`  ${id.padEnd(width)}  ${verdict.padEnd(15)} ${why}`);
      }
      if (ids.length > shown.length) lines.push(`  … and ${ids.length - shown.length} more`);
      return lines;
    },
  };
}

function reportWorker(stack: StackWorker, env: NodeJS.ProcessEnv): LocalWorker {
  const handler = periodicWorker(activityReport, { env });
  return {
    name: stack.name,
    stack,
    handler: async (event, context) => (await handler(event, context)) as unknown as AnyRecord,
    async describe(record) {
      const r = record as AnyRecord & Partial<ActivityReport>;
      const figures =
        typeof r.activeUsers === 'number'
          ? `: ${r.activeUsers} active users, ${r.usersNearCutoff ?? 0} within ${r.nearDays ?? '?'} days of the cutoff, ${r.staleUsers ?? 0} past it and not passivated`
          : '';
      return [`${stack.name}: ${outcomeText(record)}${figures}`];
    },
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (!options) {
    console.log(usage);
    return;
  }
  const print: Print = (line) => console.log(line);

  const deployed = stackWorkers();
  const selected =
    options.worker === undefined ? deployed : deployed.filter((w) => w.name === options.worker);
  if (selected.length === 0) {
    throw new UsageError(
      `--worker must be one of ${deployed.map((w) => w.name).join(', ')}, got "${options.worker}"`,
    );
  }

  let engine: Engine | undefined;
  let documents: DynamoDBDocumentClient | undefined;
  const names = {
    usersTableName: process.env[envNames.usersTableName] || 'Users',
    lockTableName: process.env[envNames.lockTableName] || 'Locks',
  };
  if (options.aws) {
    if (!process.env[envNames.usersTableName] || !process.env[envNames.lockTableName]) {
      throw new UsageError(
        `--aws needs ${envNames.usersTableName} and ${envNames.lockTableName} (see the stack outputs)`,
      );
    }
  } else {
    if (options.endpoint === undefined)
      engine = await startEngine(options.engine as Engine['kind'] | undefined);
    const endpoint = options.endpoint ?? (engine as Engine).endpoint;
    const client = new DynamoDBClient(engineClientConfig(endpoint));
    await createTables(client, names);
    // The workers build their own clients from the environment, exactly as in Lambda.
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_DYNAMODB: endpoint,
      AWS_REGION: process.env.AWS_REGION ?? 'local',
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'local',
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
    });
    documents = DynamoDBDocumentClient.from(client);
    const shards = Number(process.env[envNames.activeShards] || configDefaults.activeShards);
    if (options.seed && (await isTableEmpty(documents, names.usersTableName))) {
      const users = demoUsers(new Date(), shards);
      await putUsers(documents, names.usersTableName, users);
      print(`Seeded ${users.length} demo users into ${names.usersTableName} on ${engine?.kind ?? endpoint}`);
    }
  }
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  // A person reads the run lines; the JSON logs (and their warnings per user) are for --json.
  if (!options.json) process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';

  const workers = selected.map((stack) => {
    // The function's environment as deployed, then this shell's settings, then the local tables.
    const env: NodeJS.ProcessEnv = {
      ...stack.environment,
      ...process.env,
      [envNames.usersTableName]: names.usersTableName,
      [envNames.lockTableName]: names.lockTableName,
    };
    if (stack.name === passiveUserChecker.name)
      return checkerWorker(stack, env, print, options.json, documents);
    if (stack.name === activityReport.name) return reportWorker(stack, env);
    throw new Error(
      `the stack has a worker npm start does not know: ${stack.name} (add it to local/run-local.ts)`,
    );
  });

  const tick = async (worker: LocalWorker) => {
    const timeoutSeconds = options.timeoutSeconds ?? worker.stack.timeoutSeconds;
    const deadline = Date.now() + timeoutSeconds * 1000;
    const context = {
      awsRequestId: randomUUID(),
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    try {
      const record = await worker.handler(
        options.dryRun ? { dryRun: true } : scheduledEvent(worker.name),
        context,
      );
      if (options.json) print(JSON.stringify(record));
      else for (const line of await worker.describe(record)) print(line);
    } catch (error) {
      const record = (error as { summary?: AnyRecord }).summary;
      if (options.json && record) print(JSON.stringify(record));
      console.error(
        `${worker.name}: run failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
      );
      process.exitCode = 1;
    }
  };

  const shutdown = async () => {
    documents?.destroy();
    await engine?.stop();
  };

  for (const worker of workers) await tick(worker);
  if (options.once) {
    await shutdown();
    return;
  }
  const timers = workers.map((worker) => {
    const period = options.everySeconds ?? worker.stack.periodSeconds;
    print(
      `${worker.name}: next run in ${secondsText(period)}${options.everySeconds === undefined ? ` (${worker.stack.expression})` : ''}`,
    );
    return setInterval(() => void tick(worker), period * 1000);
  });
  print('Ctrl-C stops; --once runs each worker once.');
  // `on`, not `once`: tsx may relay the same Ctrl-C again, and with no listener left it would end this process
  // before the engine is stopped (see local/serve-engine.ts). A second signal while stopping changes nothing.
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      for (const timer of timers) clearInterval(timer);
      if (stopping) return;
      stopping = true;
      void shutdown().then(() => process.exit(0));
    });
  }
}

function scheduledEvent(worker: string) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: new Date().toISOString(),
    region: process.env.AWS_REGION ?? 'local',
    resources: [`arn:aws:events:local:000000000000:rule/${worker}-local`],
    detail: {},
  };
}

main().catch((error: unknown) => {
  if (
    error instanceof UsageError ||
    (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))
  ) {
    console.error(`${error.message}\n\n${usage}`);
    process.exit(2);
  }
  console.error(error);
  process.exit(1);
});
