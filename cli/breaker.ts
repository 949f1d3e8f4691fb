import { parseArgs } from 'node:util';
import { DynamoDbBreakerStore, NoApprovalError, withdrawApproval } from '../functions/shared/breaker-state';
import { envNames } from '../functions/shared/config';
import {
  type CliIo,
  documentClientFor,
  dynamoDbEndpoint,
  exitCodes,
  lockName,
  tableName,
  UsageError,
} from './io';
import { operatorName } from './run';
import { describeApproval } from './summary';

export const breakerUsage = `Usage: npm run cli -- breaker withdraw [options]

Withdraws the mass-passivation breaker's approval: the runs after it stop draining the approved backlog and judge
every stale user again, so the breaker trips where its rules say so. A run already past its breaker check
finishes what it started. The approval stays on record (shown by status) as withdrawn.

Options:
  --by <name>           who withdraws (default: your user@host)
  --lock-table <name>   the lock table (default: $${envNames.lockTableName})
  --lock-name <name>    the lock (default: $${envNames.lockName} or passive-user-checker)
  --endpoint <url>      a local engine (default: $AWS_ENDPOINT_URL_DYNAMODB, else AWS)
  -h, --help            show this help

Exit codes: 0 withdrawn, 1 no approval in force (or the table could not be read), 2 bad arguments.`;

export async function runBreakerCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: true,
    options: {
      by: { type: 'string' },
      'lock-table': { type: 'string' },
      'lock-name': { type: 'string' },
      endpoint: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.out(breakerUsage);
    return exitCodes.ok;
  }
  if (positionals.length !== 1 || positionals[0] !== 'withdraw') {
    throw new UsageError(`Expected "withdraw", got ${JSON.stringify(positionals.join(' '))}`, breakerUsage);
  }
  const table = tableName('lock-table', values['lock-table'], envNames.lockTableName, io.env, breakerUsage);
  const name = lockName(values['lock-name'], io.env, breakerUsage);
  const endpoint = dynamoDbEndpoint(values.endpoint, io.env, breakerUsage);
  const client = documentClientFor(endpoint, io.env);
  try {
    const state = await withdrawApproval(
      new DynamoDbBreakerStore(client, table, name),
      values.by ?? operatorName(),
      io.now(),
    );
    io.out(`Withdrew the breaker approval of ${name}; the next run judges every stale user again.`);
    if (state.approval) for (const line of describeApproval(state.approval)) io.out(line);
    return exitCodes.ok;
  } catch (error) {
    if (error instanceof NoApprovalError) {
      io.err(`${error.message} (lock ${name}); npm run cli -- status shows the breaker's state.`);
      return exitCodes.failed;
    }
    throw error;
  } finally {
    client.destroy();
  }
}
