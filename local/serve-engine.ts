/**
 * `npm run local:engine`: the CLI's local path. Starts the embedded engine, creates the tables from the stack's
 * schema module, seeds the demo users into an empty users table, and prints the endpoint and the `export` lines
 * for another shell, where `npm run cli -- status | run --local | backfill` then works against it. Stays up until
 * Ctrl-C; the data lives in memory and goes with it.
 */
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { configDefaults, envNames } from '../functions/shared/config';
import { parseCanonicalInteger } from '../functions/shared/integers';
import { demoUsers, isTableEmpty, putUsers } from './checker/seed';
import { engineClientConfig, engineKinds, selectedEngineKind, startEngine } from './engine';
import { createTables } from './tables';

const usage = `Usage: npm run local:engine -- [options]

Starts an embedded DynamoDB with the users and lock tables (demo users seeded) and prints the lines to export in
another shell for npm run cli -- status | run --local | backfill. Ctrl-C stops it (the data is in memory).

Options:
  --engine <name>   ${engineKinds.join(' | ')} (default: $DYNAMODB_ENGINE or dynalite)
  --port <n>        listen on this port of 127.0.0.1 (default: a free one)
  --no-seed         leave the users table empty
  -h, --help        show this help

Table names come from USERS_TABLE_NAME and LOCK_TABLE_NAME (default Users, Locks), the seed's shards from
ACTIVE_SHARDS (default ${configDefaults.activeShards}).`;

/** The variables the CLI (and the handler it runs with --local) reads, pointing at the engine. */
export function localEngineExports(
  endpoint: string,
  names: { readonly usersTableName: string; readonly lockTableName: string },
): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    // The engine checks neither; the SDK insists on both.
    AWS_REGION: 'local',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    [envNames.usersTableName]: names.usersTableName,
    [envNames.lockTableName]: names.lockTableName,
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: {
      engine: { type: 'string' },
      port: { type: 'string' },
      'no-seed': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const kind = values.engine ?? selectedEngineKind();
  if (!(engineKinds as readonly string[]).includes(kind)) {
    console.error(`--engine must be one of ${engineKinds.join(', ')}, got "${kind}"\n\n${usage}`);
    return 2;
  }

  const port = values.port === undefined ? undefined : parseCanonicalInteger(values.port);
  if (values.port !== undefined && (port === undefined || port < 1 || port > 65_535)) {
    console.error(`--port must be an integer from 1 to 65535, got ${JSON.stringify(values.port)} (--help)`);
    return 2;
  }
  const engine = await startEngine(kind as (typeof engineKinds)[number], port === undefined ? {} : { port });
  const names = {
    usersTableName: process.env[envNames.usersTableName] || 'Users',
    lockTableName: process.env[envNames.lockTableName] || 'Locks',
  };
  const client = new DynamoDBClient(engineClientConfig(engine.endpoint));
  await createTables(client, names);
  let seeded = 'no users seeded (--no-seed)';
  if (!values['no-seed']) {
    const documents = DynamoDBDocumentClient.from(client);
    if (await isTableEmpty(documents, names.usersTableName)) {
      const shards = Number(process.env[envNames.activeShards] || configDefaults.activeShards);
      const users = demoUsers(new Date(), shards);
      await putUsers(documents, names.usersTableName, users);
      seeded = `${users.length} demo users seeded`;
    }
  }
  client.destroy();

  const exports = Object.entries(localEngineExports(engine.endpoint, names)).map(
    ([name, value]) => `export ${name}=${value}`,
  );
  console.log(
    [
      `DynamoDB (${engine.kind}) listening on ${engine.endpoint}: tables ${names.usersTableName} and ${names.lockTableName}, ${seeded}.`,
      '',
      'In another shell:',
      ...exports,
      '',
      'then npm run cli -- status | npm run cli -- run --local | npm run cli -- backfill',
      '',
      'Ctrl-C stops the engine (its data is in memory).',
    ].join('\n'),
  );

  // `on`, not `once`: Ctrl-C reaches tsx and this process together, and tsx may relay it again; with no listener
  // left, that second SIGINT would end this process before it stops the engine (and leave DynamoDB Local's JVM).
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => resolve());
  });
  await engine.stop();
  console.log('Engine stopped.');
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
      console.error(`${error.message}\n\n${usage}`);
      process.exitCode = 2;
      return;
    }
    console.error(
      `local:engine failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
    );
    process.exitCode = 1;
  },
);
