/**
 * `npx periodic-worker-dev`: runs the workers of the CDK app in this directory locally (see runner.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { engineKinds } from '../engine';
import { DevRunnerError } from './assembly';
import { endpointOption, engineOption, secondsOption, UsageError } from './options';
import { RunFailuresError, startDevRunner } from './runner';

export const devRunnerUsage = `Usage: periodic-worker-dev [options]

Runs every PeriodicWorker (and PassiveUserChecker) of the CDK app in this directory locally: synthesizes the app,
creates its DynamoDB tables on an embedded engine, and runs each worker's synthesized bundle in a process of its
own with the function's environment, on its schedule's period, printing one line per run.

Options:
  --once                 run each worker once and exit
  --worker <name>        run only this worker
  --every <seconds>      one period for every worker instead of each schedule's own
  --dry-run              invoke with {"dryRun": true}: the job reports, writes nothing
  --seed <file>          items per table (.json: { "Sessions": [ {...} ] }) or a module (.mjs/.js) whose
                         default export seeds: async ({ client, tables }) => {...}
  --cdk-out <dir>        read this synthesized app instead of running cdk synth
  --app <dir>            the CDK app's directory (default: this one)
  --engine <name>        ${engineKinds.join(' | ')} (default: $DYNAMODB_ENGINE or dynalite)
  --endpoint <url>       a DynamoDB already running (also $AWS_ENDPOINT_URL_DYNAMODB): creates what is missing
  --timeout <seconds>    the function timeout (default: each function's own)
  --json                 the workers' log lines and each run record as JSON lines
  -h, --help             show this help`;

/** Runs the app's `cdk synth`; returns the cloud assembly directory. */
function synthesize(appDir: string): string {
  const cdkJson = path.join(appDir, 'cdk.json');
  if (!existsSync(cdkJson)) {
    throw new DevRunnerError(
      `no cdk.json in ${appDir}: run in your CDK app's directory, or give --app DIR or --cdk-out DIR`,
    );
  }
  const output = (JSON.parse(readFileSync(cdkJson, 'utf8')) as { output?: string }).output ?? 'cdk.out';
  const local = path.join(appDir, 'node_modules', '.bin', 'cdk');
  const [command, args] = existsSync(local) ? [local, []] : ['npx', ['--no-install', 'cdk']];
  const started = Date.now();
  const result = spawnSync(command, [...args, 'synth', '--quiet', '--no-notices'], {
    cwd: appDir,
    encoding: 'utf8',
    env: { ...process.env, CDK_DISABLE_VERSION_CHECK: 'true' },
  });
  if (result.status !== 0) {
    const last = `${result.stderr ?? ''}${result.stdout ?? ''}`.trim().split('\n').filter(Boolean).at(-1);
    throw new DevRunnerError(
      `cdk synth failed (${result.error ? result.error.message : `exit ${result.status}`}${last ? `: ${last}` : ''}): fix the app, or give --cdk-out DIR`,
    );
  }
  console.log(
    `Synthesized ${path.relative(process.cwd(), path.join(appDir, output)) || output} in ${Date.now() - started} ms`,
  );
  return path.join(appDir, output);
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      once: { type: 'boolean', default: false },
      worker: { type: 'string' },
      every: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      seed: { type: 'string' },
      'cdk-out': { type: 'string' },
      app: { type: 'string' },
      engine: { type: 'string' },
      endpoint: { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(devRunnerUsage);
    return 0;
  }
  const options = {
    once: values.once,
    worker: values.worker,
    everySeconds: secondsOption('every', values.every, 86_400),
    dryRun: values['dry-run'],
    seed: values.seed,
    engine: engineOption(values.engine),
    endpoint: endpointOption(values.endpoint),
    timeoutSeconds: secondsOption('timeout', values.timeout, 900),
    json: values.json,
  };
  if (values.seed !== undefined && !existsSync(values.seed)) {
    throw new UsageError(`--seed ${values.seed}: no such file`);
  }
  const cdkOut = values['cdk-out'] ?? synthesize(path.resolve(values.app ?? '.'));
  const runner = await startDevRunner({ ...options, cdkOut: path.resolve(cdkOut) });
  if (!options.once) {
    console.log('Ctrl-C stops; --once runs each worker once.');
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void runner.stop());
  }
  await runner.done;
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof RunFailuresError) {
      process.exitCode = 1;
      return;
    }
    const usage =
      error instanceof UsageError ||
      (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'));
    if (usage || error instanceof DevRunnerError) {
      console.error(
        `periodic-worker-dev: ${(error as Error).message}${usage ? ' (--help lists the options)' : ''}`,
      );
      process.exitCode = 2;
      return;
    }
    console.error(error);
    process.exitCode = 1;
  },
);
