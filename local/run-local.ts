/**
 * `npm start`: the dev runner (local/dev, `periodic-worker-dev`) over this repository's app, with the demo users
 * seeded and the checker's lines about each user. The app is synthesized as `cdk synth` would (infra/app.ts with
 * cdk.json's context) into a scratch directory; the runner creates its tables on an embedded engine and runs each
 * worker's synthesized bundle in a process of its own, on its schedule's period.
 *
 * The default output is for a person: one line per worker run, and for the checker what happened to each user
 * and why. `--json` prints the workers' JSON logs and each run record as a JSON line instead.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ActivityReport } from '../functions/activity-report/report';
import { serviceName as checkerName } from '../functions/passive-user-checker/observability-names';
import { configDefaults, envNames } from '../functions/shared/config';
import { CheckerRunExplainer } from './checker/explain-run';
import { demoUsers, isTableEmpty, putUsers } from './checker/seed';
import { DevRunnerError } from './dev/assembly';
import { endpointOption, engineOption, secondsOption, UsageError } from './dev/options';
import {
  outcomeText,
  RunFailuresError,
  type RunRecordLike,
  type SeedContext,
  startDevRunner,
} from './dev/runner';
import { engineClientConfig, engineKinds, selectedEngineKind } from './engine';

const usage = `Usage: npm start -- [options]

Runs every worker of this repository's stack (the passive-user checker, the activity report) with the dev runner:
synthesizes the app, creates its tables on an embedded DynamoDB, seeds demo users into an empty users table, and
runs each worker's synthesized bundle on its own schedule's period, printing one line per run.

Options:
  --once                 run each worker once and exit
  --worker <name>        run only this worker (passive-user-checker, activity-report)
  --every <seconds>      one period for every worker instead of each schedule's own
  --dry-run              invoke with {"dryRun": true}: report, write nothing
  --json                 print the workers' JSON logs and each run record as a JSON line
  --engine <name>        embedded engine: ${engineKinds.join(' | ')} (default: $DYNAMODB_ENGINE or dynalite)
  --endpoint <url>       use a running DynamoDB endpoint instead (also: $AWS_ENDPOINT_URL_DYNAMODB;
                         npm run local:engine starts one)
  --timeout <seconds>    simulated function timeout (default: each worker's, as deployed)
  --no-seed              do not seed demo users into an empty table
  -h, --help             show this help

Every worker setting is an environment variable (INACTIVE_DAYS, ACTIVE_SHARDS, ...; see README); what is not set
is what the stack deploys. Against the AWS tables: npm run cli -- run --local --users-table NAME --lock-table NAME.`;

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const stackName = 'PassiveUsersStack';

/** Synthesizes infra/app.ts into `outdir` as `cdk synth` does (cdk.json's context, construct paths and assets). */
function synthesizeStack(outdir: string): number {
  const cdkJson = JSON.parse(readFileSync(path.join(projectRoot, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  const context = {
    ...cdkJson.context,
    'aws:cdk:enable-path-metadata': true,
    'aws:cdk:enable-asset-metadata': true,
  };
  const started = Date.now();
  // A process of its own: the bundler's output is shown only when the synth fails.
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join('infra', 'app.ts')], {
    cwd: projectRoot,
    encoding: 'utf8',
    env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context) },
  });
  if (result.status !== 0) {
    const output = `${result.stderr ?? ''}${result.stdout ?? ''}`.trim();
    throw new DevRunnerError(
      `synthesizing infra/app.ts failed (${result.error ? result.error.message : `exit ${result.status}`}):\n${output}`,
    );
  }
  return Date.now() - started;
}

/** The activity report's figures in words; undefined for a record without them (lock-held, paused). */
function reportLines(worker: string, record: RunRecordLike): string[] | undefined {
  const r = record as RunRecordLike & Partial<ActivityReport>;
  if (typeof r.activeUsers !== 'number') return undefined;
  return [
    `${worker}: ${outcomeText(record)}: ${r.activeUsers} active users, ${r.usersNearCutoff ?? 0} within ${r.nearDays ?? '?'} days of the cutoff, ${r.staleUsers ?? 0} past it and not passivated`,
  ];
}

async function main(argv: string[]): Promise<void> {
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
  if (values.help) {
    console.log(usage);
    return;
  }
  if (values.aws) {
    throw new UsageError(
      '--aws is gone from npm start: npm run cli -- run --local --users-table NAME --lock-table NAME runs the checker once in this process against the AWS tables (the stack outputs name them); npm run cli -- run <worker> invokes the deployed function',
    );
  }
  const options = {
    once: values.once,
    worker: values.worker,
    everySeconds: secondsOption('every', values.every, 86_400),
    dryRun: values['dry-run'],
    json: values.json,
    engine: engineOption(values.engine),
    endpoint: endpointOption(values.endpoint),
    timeoutSeconds: secondsOption('timeout', values.timeout, 900),
  };
  const print = (line: string) => console.log(line);

  const cdkOut = mkdtempSync(path.join(tmpdir(), 'npm-start-'));
  let documents: DynamoDBDocumentClient | undefined;
  let explainer: CheckerRunExplainer | undefined;
  try {
    const ms = synthesizeStack(cdkOut);
    print(`Synthesized ${stackName} (infra/app.ts) in ${(ms / 1000).toFixed(1)} s`);

    // A setting of this shell wins over the stack's, as it does for the workers themselves.
    const setting = (context: SeedContext, name: string, fallback: number): number => {
      const checker = context.workers.find((w) => w.name === checkerName);
      return Number(process.env[name] || checker?.environment[name] || fallback);
    };
    const seed = async (context: SeedContext) => {
      const checker = context.workers.find((w) => w.name === checkerName);
      const usersTableName = checker?.environment[envNames.usersTableName];
      if (usersTableName === undefined) return;
      documents = DynamoDBDocumentClient.from(new DynamoDBClient(engineClientConfig(context.endpoint)));
      explainer = new CheckerRunExplainer(
        documents,
        usersTableName,
        setting(context, envNames.inactiveDays, configDefaults.inactiveDays),
      );
      if (values['no-seed'] || !(await isTableEmpty(documents, usersTableName))) return;
      const users = demoUsers(
        new Date(),
        setting(context, envNames.activeShards, configDefaults.activeShards),
      );
      await putUsers(documents, usersTableName, users);
      const where = options.endpoint ?? options.engine ?? selectedEngineKind();
      print(`Seeded ${users.length} demo users into ${usersTableName} on ${where}`);
    };

    const runner = await startDevRunner(
      { ...options, cdkOut },
      {
        print,
        seed,
        beforeRun: async (worker) => {
          if (worker.name === checkerName && !options.json) await explainer?.snapshot();
        },
        describe: async (worker, record) =>
          worker.name === checkerName && explainer
            ? explainer.describe(worker.name, record)
            : reportLines(worker.name, record),
      },
    );
    if (!options.once) {
      print('Ctrl-C stops; --once runs each worker once.');
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void runner.stop());
    }
    await runner.done;
  } finally {
    documents?.destroy();
    rmSync(cdkOut, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof RunFailuresError) {
    process.exitCode = 1;
    return;
  }
  const usageError =
    error instanceof UsageError ||
    (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'));
  if (usageError || error instanceof DevRunnerError) {
    console.error(
      `${(error as Error).message}${usageError ? ' (npm start -- --help lists the options)' : ''}`,
    );
    process.exitCode = 2;
    return;
  }
  console.error(error);
  process.exitCode = 1;
});
