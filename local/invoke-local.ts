/**
 * `npm run invoke:local [-- event.json]`: what `sam local invoke` does, without Docker. Bundles the handler with
 * the stack's own esbuild options, starts the embedded engine, creates and seeds the tables, and invokes the
 * bundle's `handler` once with the event (default `events/scheduled-event.json`), printing its result.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { build } from 'esbuild';
import { configDefaults, envNames } from '../functions/shared/config';
import { handlerBundling, handlerEntry } from '../infra/constructs/handler-bundle';
import { demoUsers, isTableEmpty, putUsers } from './checker/seed';
import { engineClientConfig, startEngine } from './engine';
import { createTables } from './tables';

const projectRoot = path.resolve(import.meta.dirname, '..');
const outdir = path.join(projectRoot, '.cache', 'invoke-local');
const timeoutMs = 240_000;

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

async function bundleHandler(): Promise<string> {
  mkdirSync(outdir, { recursive: true });
  const outfile = path.join(outdir, 'index.mjs');
  const started = Date.now();
  await build({
    entryPoints: [handlerEntry],
    outfile,
    bundle: true,
    platform: 'node',
    format: handlerBundling.format,
    target: handlerBundling.target,
    mainFields: [...handlerBundling.mainFields],
    minify: handlerBundling.minify,
    sourcemap: handlerBundling.sourceMap,
    sourcesContent: handlerBundling.sourcesContent,
    banner: { js: handlerBundling.banner },
    logLevel: 'warning',
  });
  console.log(`Bundled ${path.relative(projectRoot, outfile)} in ${Date.now() - started} ms`);
  return outfile;
}

/** A command line or event file the invoke cannot use: one line on stderr, exit 2, nothing bundled or started. */
class EventFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EventFileError';
  }
}

const defaultEvent = path.join(projectRoot, 'events', 'scheduled-event.json');

function readEvent(eventPath: string): unknown {
  const relative = path.relative(process.cwd(), eventPath);
  const shown = relative === '' || relative.startsWith('..') ? eventPath : relative;
  const usage = `give a JSON event file: npm run invoke:local -- ${path.relative(process.cwd(), defaultEvent)} (the default when none is given)`;
  if (!existsSync(eventPath)) throw new EventFileError(`no event file at ${shown}: ${usage}`);
  try {
    return JSON.parse(readFileSync(eventPath, 'utf8'));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new EventFileError(`${shown} is not a JSON event (${reason}): ${usage}`);
  }
}

async function main(): Promise<void> {
  const eventPath = path.resolve(process.argv[2] ?? defaultEvent);
  const event = readEvent(eventPath);
  const bundle = await bundleHandler();

  const engine = await startEngine();
  try {
    const client = new DynamoDBClient(engineClientConfig(engine.endpoint));
    const names = { usersTableName: 'Users', lockTableName: 'Locks' };
    await createTables(client, names);
    const documents = DynamoDBDocumentClient.from(client);
    if (await isTableEmpty(documents, names.usersTableName)) {
      await putUsers(documents, names.usersTableName, demoUsers(new Date(), configDefaults.activeShards));
    }
    client.destroy();

    Object.assign(process.env, {
      AWS_ENDPOINT_URL_DYNAMODB: engine.endpoint,
      AWS_REGION: 'local',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
      [envNames.usersTableName]: names.usersTableName,
      [envNames.lockTableName]: names.lockTableName,
    });
    const { handler } = (await import(pathToFileURL(bundle).href)) as { handler: Handler };
    const deadline = Date.now() + timeoutMs;
    const result = await handler(event, {
      awsRequestId: randomUUID(),
      functionName: 'passive-user-checker-local',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:passive-user-checker-local',
      memoryLimitInMB: '512',
      logGroupName: '/aws/lambda/passive-user-checker-local',
      logStreamName: 'local',
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    });
    console.log(`Result (${path.relative(projectRoot, eventPath)}):\n${JSON.stringify(result, null, 2)}`);
  } finally {
    await engine.stop();
  }
}

main().catch((error: unknown) => {
  if (error instanceof EventFileError) {
    console.error(`invoke:local: ${error.message}`);
    process.exit(2);
  }
  console.error(error);
  process.exit(1);
});
