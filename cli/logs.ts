/**
 * `logs <worker>`: tails the worker's log group with `aws logs tail --follow`, which already does what a tail
 * should (follow, --since, --filter-pattern, colour); the CLI finds the group. Arguments after `--` go to it.
 */
import { parseArgs } from 'node:util';
import { type CliIo, exitCodes, UsageError, workerName } from './io';
import { deploymentOf, NotInStackError, regionFlag } from './targets';

export const logsUsage = `Usage: periodic-worker logs <worker> (--stack <name> | --function-name <name> | --log-group <name>) [options] [-- <aws logs tail options>]

Tails the worker's log group (aws logs tail <group> --follow; the AWS CLI must be installed). The group is the
one the function logs to: from the stack (--stack), from the function's configuration (--function-name), or
named (--log-group).

Options:
  --stack <name>           the deployed stack, which names the worker's function and log group (CloudFormation)
  --function-name <name>   the worker's function: its logging config's group, else /aws/lambda/<name>
  --log-group <name>       the group itself
  --region <region>        the AWS region (default: $AWS_REGION or your profile's)
  --no-follow              print what is there and stop (default: follow)
  -h, --help               show this help

After --, options for aws logs tail: periodic-worker logs nightly --stack Workers -- --since 1h
Exit codes: the AWS CLI's; 1 the stack or function could not be read, 2 bad arguments.`;

export async function runLogsCommand(args: readonly string[], io: CliIo): Promise<number> {
  const split = args.indexOf('--');
  const own = split === -1 ? args : args.slice(0, split);
  const passed = split === -1 ? [] : args.slice(split + 1);
  const { values, positionals } = parseArgs({
    args: [...own],
    strict: true,
    allowPositionals: true,
    options: {
      stack: { type: 'string' },
      'function-name': { type: 'string' },
      'log-group': { type: 'string' },
      region: { type: 'string' },
      'no-follow': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.out(logsUsage);
    return exitCodes.ok;
  }
  if (positionals.length > 1) {
    throw new UsageError(`Expected one worker, got ${JSON.stringify(positionals.join(' '))}`, logsUsage);
  }
  const worker = workerName(positionals[0], logsUsage);
  const region = regionFlag(values.region, logsUsage);
  const sources = (['stack', 'function-name', 'log-group'] as const).filter(
    (flag) => values[flag] !== undefined,
  );
  if (sources.length > 1) {
    throw new UsageError(`${sources.map((flag) => `--${flag}`).join(' and ')} exclude each other`, logsUsage);
  }
  const deployment = deploymentOf(io);
  let logGroup = values['log-group'];
  if (values['function-name'] !== undefined) {
    logGroup = await deployment.functionLogGroup(values['function-name'], region);
  } else if (values.stack !== undefined) {
    const deployed = await deployment.deployedWorkers(values.stack, region);
    const found = deployed.find((d) => d.worker === worker);
    if (!found) throw new NotInStackError(worker, values.stack, deployed);
    logGroup = found.logGroup;
  }
  if (logGroup === undefined) {
    throw new UsageError(
      "--stack, --function-name or --log-group is required: where the worker's logs are",
      logsUsage,
    );
  }
  io.err(`Tailing ${logGroup} (${worker}${values['no-follow'] ? '' : '; Ctrl-C to stop'})`);
  return deployment.tailLogs(logGroup, [...(values['no-follow'] ? [] : ['--follow']), ...passed], region);
}
