import { parseArgs } from 'node:util';
import {
  DynamoDbBreakerStore,
  NoApprovalError,
  resetBreakerWindow,
  withdrawApproval,
} from '../../functions/passive-user-checker/breaker-state';
import { envNames } from '../../functions/shared/config';
import { maxOperatorNameLength } from '../../functions/shared/one-line';
import {
  type CliIo,
  documentClientFor,
  dynamoDbEndpoint,
  exitCodes,
  lockName,
  oneLineFlag,
  operatorName,
  tableName,
  UsageError,
} from '../io';
import { describeApproval } from './summary';

export const breakerUsage = `Usage: periodic-worker breaker withdraw|reset [options]

withdraw  Withdraws the mass-passivation breaker's approval: the runs after it stop draining the approved backlog
          and judge every stale user again, so the breaker trips where its rules say so. A run already past its
          breaker check finishes what it started. The approval stays on record (shown by status) as withdrawn.
reset     Clears the breaker's window: the crossings earlier runs accepted no longer count toward the next trip.
          The accepted backlog and the approval are kept (withdraw forgets the backlog); users who crossed since
          the last passing run are judged by the next run as usual. A run between its breaker check and its
          first write when the reset lands stops without acting; the next tick goes on.

Options:
  --by <name>           who withdraws or resets, one line (default: your user@host)
  --lock-table <name>   the lock table (default: $${envNames.lockTableName})
  --lock-name <name>    the lock (default: $${envNames.lockName} or passive-user-checker)
  --endpoint <url>      a local engine (default: $AWS_ENDPOINT_URL_DYNAMODB, else AWS)
  -h, --help            show this help

Exit codes: 0 withdrawn or reset, 1 no approval in force to withdraw (or the table could not be read),
2 bad arguments.`;

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
  const action = positionals.length === 1 ? positionals[0] : undefined;
  if (action !== 'withdraw' && action !== 'reset') {
    throw new UsageError(
      `Expected "withdraw" or "reset", got ${JSON.stringify(positionals.join(' '))}`,
      breakerUsage,
    );
  }
  const by = oneLineFlag('by', values.by ?? operatorName(), maxOperatorNameLength, breakerUsage);
  const table = tableName('lock-table', values['lock-table'], envNames.lockTableName, io.env, breakerUsage);
  const name = lockName(values['lock-name'], io.env, breakerUsage);
  const endpoint = dynamoDbEndpoint(values.endpoint, io.env, breakerUsage);
  const client = documentClientFor(endpoint, io.env);
  try {
    const store = new DynamoDbBreakerStore(client, table, name);
    if (action === 'reset') {
      const { state, forgotten } = await resetBreakerWindow(store, by, io.now());
      io.out(
        `Cleared the breaker window of ${name} (by ${by} at ${state.windowReset?.at}): ${forgotten} accepted ` +
          'crossings no longer count toward the next trip.',
      );
      io.out(
        `Kept: ${state.backlog} stale users accepted and not yet passivated, and the approval (if any).`,
      );
      return exitCodes.ok;
    }
    const state = await withdrawApproval(store, by, io.now());
    io.out(`Withdrew the breaker approval of ${name}; the next run judges every stale user again.`);
    if (state.approval) for (const line of describeApproval(state.approval)) io.out(line);
    return exitCodes.ok;
  } catch (error) {
    if (error instanceof NoApprovalError) {
      io.err(`${error.message} (lock ${name}); periodic-worker status shows the breaker's state.`);
      return exitCodes.failed;
    }
    throw error;
  } finally {
    client.destroy();
  }
}
