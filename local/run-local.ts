/**
 * `npm start`: runs the real Lambda handler on a schedule against an embedded DynamoDB, with nothing else
 * installed. Tables come from the same schema module the stack deploys; demo users are seeded into an empty
 * table. `--endpoint` points it at a running engine instead (DynamoDB Local), `--aws` at real AWS.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { localRunEvents } from '../cli/local-events';
import { checkerHandler } from '../functions/passive-user-checker/handler';
import type { DomainEvents, RunSummary } from '../functions/passive-user-checker/ports';
import { configDefaults, envNames } from '../functions/shared/config';
import { type Engine, engineClientConfig, engineKinds, startEngine } from './engine';
import { demoUsers, isTableEmpty, putUsers } from './seed';
import { createTables } from './tables';

const usage = `Usage: npm start -- [options]

Runs the passive-user checker's real handler on a schedule against an embedded DynamoDB.

Options:
  --once                 run one tick and exit
  --every <seconds>      period between ticks (default 600, the deployed rate(10 minutes))
  --dry-run              invoke with {"dryRun": true}: report, write nothing
  --engine <name>        embedded engine: ${engineKinds.join(' | ')} (default: $DYNAMODB_ENGINE or dynalite)
  --endpoint <url>       use a running DynamoDB endpoint instead (also: $AWS_ENDPOINT_URL_DYNAMODB)
  --aws                  use real AWS with the current credentials; needs USERS_TABLE_NAME and LOCK_TABLE_NAME
  --timeout <seconds>    simulated function timeout for getRemainingTimeInMillis (default 240, the stack's function timeout)
  --no-seed              do not seed demo users into an empty table
  -h, --help             show this help

Every worker setting is an environment variable (INACTIVE_DAYS, ACTIVE_SHARDS, ...; see README).`;

class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

interface Options {
  readonly once: boolean;
  readonly everySeconds: number;
  readonly dryRun: boolean;
  readonly engine: string | undefined;
  readonly endpoint: string | undefined;
  readonly aws: boolean;
  readonly timeoutSeconds: number;
  readonly seed: boolean;
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      once: { type: 'boolean', default: false },
      every: { type: 'string', default: '600' },
      'dry-run': { type: 'boolean', default: false },
      engine: { type: 'string' },
      endpoint: { type: 'string' },
      aws: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '240' },
      'no-seed': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return undefined;
  const positive = (name: string, raw: string, max: number) => {
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
  const endpoint = values.endpoint ?? process.env.AWS_ENDPOINT_URL_DYNAMODB;
  if (values.aws && endpoint)
    throw new UsageError('--aws and --endpoint (or AWS_ENDPOINT_URL_DYNAMODB) exclude each other');
  if (endpoint !== undefined && !/^https?:\/\/[^\s]+$/.test(endpoint)) {
    throw new UsageError(`--endpoint must be an http(s) URL, got "${endpoint}"`);
  }
  return {
    once: values.once,
    everySeconds: positive('every', values.every, 86_400),
    dryRun: values['dry-run'],
    engine: values.engine,
    endpoint,
    aws: values.aws,
    timeoutSeconds: positive('timeout', values.timeout, 900),
    seed: !values['no-seed'],
  };
}

/** Locally there is no event bus: domain events are printed instead of published. */
const printedEvents: DomainEvents = {
  async publishPassivated(events) {
    for (const event of events) console.log(`  event UserPassivated ${JSON.stringify(event)}`);
    return [];
  },
  async publishInactivityWarnings(events) {
    for (const event of events) console.log(`  event UserInactivityWarning ${JSON.stringify(event)}`);
    return [];
  },
};

function describe(summary: RunSummary): string {
  const parts = [
    `outcome=${summary.outcome}`,
    `passivated=${summary.passivated}`,
    `raceSkipped=${summary.raceSkipped}`,
    `exempt=${summary.exempt}`,
    `malformed=${summary.malformed}`,
    `failed=${summary.failed}`,
    `complete=${summary.complete}`,
    `durationMs=${summary.durationMs}`,
  ];
  if (summary.dryRun)
    parts.push(`wouldPassivate=${summary.wouldPassivate} sample=${summary.sampleUserIds.join(',')}`);
  return parts.join(' ');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (!options) {
    console.log(usage);
    return;
  }

  let engine: Engine | undefined;
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
    const names = {
      usersTableName: process.env[envNames.usersTableName] || 'Users',
      lockTableName: process.env[envNames.lockTableName] || 'Locks',
    };
    await createTables(client, names);
    // The handler builds its own client from the environment, exactly as in Lambda.
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_DYNAMODB: endpoint,
      AWS_REGION: process.env.AWS_REGION ?? 'local',
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'local',
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
      [envNames.usersTableName]: names.usersTableName,
      [envNames.lockTableName]: names.lockTableName,
    });
    const documents = DynamoDBDocumentClient.from(client);
    const shards = Number(process.env[envNames.activeShards] || configDefaults.activeShards);
    if (options.seed && (await isTableEmpty(documents, names.usersTableName))) {
      const users = demoUsers(new Date(), shards);
      await putUsers(documents, names.usersTableName, users);
      console.log(
        `Seeded ${users.length} demo users into ${names.usersTableName} on ${engine?.kind ?? endpoint}`,
      );
    }
    client.destroy();
  }
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  process.env.POWERTOOLS_SERVICE_NAME ??= 'passive-user-checker';

  const handler = checkerHandler({
    // EVENT_BUS_NAME exported in this shell never makes a local run publish to a real bus (see run --local).
    job: (deps) =>
      deps.events === undefined
        ? { ...deps, events: printedEvents }
        : { ...deps, ...localRunEvents(deps, false, (line) => console.log(line)) },
  });

  const tick = async () => {
    const deadline = Date.now() + options.timeoutSeconds * 1000;
    const context = {
      awsRequestId: randomUUID(),
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    try {
      const summary = await handler(options.dryRun ? { dryRun: true } : scheduledEvent(), context);
      console.log(`Run summary: ${describe(summary)}`);
    } catch (error) {
      console.error(
        `Run failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
      );
      process.exitCode = 1;
    }
  };

  const shutdown = async () => {
    await engine?.stop();
  };

  await tick();
  if (options.once) {
    await shutdown();
    return;
  }
  console.log(`Next run in ${options.everySeconds} s (Ctrl-C to stop; --once runs a single tick)`);
  const timer = setInterval(() => {
    void tick().then(() => console.log(`Next run in ${options.everySeconds} s`));
  }, options.everySeconds * 1000);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      clearInterval(timer);
      void shutdown().then(() => process.exit(0));
    });
  }
}

function scheduledEvent() {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: new Date().toISOString(),
    region: process.env.AWS_REGION ?? 'local',
    resources: ['arn:aws:events:local:000000000000:rule/passive-user-checker-local'],
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
