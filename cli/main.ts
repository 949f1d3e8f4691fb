/**
 * `periodic-worker <command>` (`npx periodic-worker` wherever the package is installed; `npm run cli --` in this
 * repository runs the same file through tsx): the operator's tool. For any worker on any lock table: `list`,
 * `status [<worker>]` with its history, `pause`/`resume`, `run <worker>` (invoke the deployed function), `logs
 * <worker>`. Beside them the passive-user checker's own: `run` (deployed, or in process with --local), `backfill`,
 * `breaker`. Bad arguments exit 2 with one line that says what to do, before anything is read or written; the
 * usage only with --help.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UnknownWorkerError } from '../functions/periodic-worker/admin';
import { ConfigError } from '../functions/shared/config';
import { backfillUsage, runBackfillCommand } from './checker/backfill-command';
import { breakerUsage, runBreakerCommand } from './checker/breaker';
import { rejectedUsage, runRejectedCommand } from './checker/rejected';
import { runRunCommand, runUsage } from './checker/run';
import { DeploymentError } from './deployment';
import { endpointOf, failureHint } from './failure';
import { type CliIo, exitCodes, UsageError } from './io';
import { listUsage, runListCommand } from './list';
import { logsUsage, runLogsCommand } from './logs';
import { pauseUsage, resumeUsage, runPauseCommand, runResumeCommand } from './pause';
import { runWorkerCommand } from './run-worker';
import { runStatusCommand, statusUsage } from './status';
import { NotInStackError } from './targets';

export const mainUsage = `Usage: periodic-worker <command> [options]

Commands for any periodic worker (its lock table from --lock-table, $LOCK_TABLE_NAME or --stack):
  list        every worker: its lock (holder, lease left, or free), pause and last run, one line each
  status [<worker>]
              without <worker>: every worker, the passive-user checker first in full; with it: its lock, pause
              and run history, newest first
  pause <worker> --reason "<why>"
              pause a worker at run time: its runs record "paused" and do nothing (no redeploy)
  resume <worker>
              remove a worker's pause
  run <worker>
              invoke the worker's deployed function once (--dry-run, --payload '{…}') and print its record
  logs <worker>
              tail the worker's log group (aws logs tail --follow)

The passive-user checker's:
  run         run the checker once: the deployed function, or --local in this process
  backfill    bring an existing users table into the data contract (a dry run unless --apply)
  rejected    the users the checker took out of its index for a lastLoginAt that is no instant
  breaker     withdraw the mass-passivation breaker's approval (breaker withdraw), or clear its window
              (breaker reset)

periodic-worker <command> --help shows a command's options. In this repository: npm run cli -- <command>.
A worker name the lock table does not know is refused with the names it does know (pause --create excepted).
Locally: npm run local:engine starts an engine with seeded tables and prints the lines to export.`;

interface Command {
  readonly run: (args: readonly string[], io: CliIo) => Promise<number>;
  readonly usage: string;
}

const commands: Record<string, Command> = {
  list: { run: runListCommand, usage: listUsage },
  status: { run: runStatusCommand, usage: statusUsage },
  pause: { run: runPauseCommand, usage: pauseUsage },
  resume: { run: runResumeCommand, usage: resumeUsage },
  // `run <worker>` invokes any worker; `run` with options only is the checker's.
  run: {
    run: (args, io) => (isWorkerGiven(args) ? runWorkerCommand(args, io) : runRunCommand(args, io)),
    usage: runUsage,
  },
  logs: { run: runLogsCommand, usage: logsUsage },
  backfill: { run: (args, io) => runBackfillCommand(args, io), usage: backfillUsage },
  breaker: { run: runBreakerCommand, usage: breakerUsage },
  rejected: { run: runRejectedCommand, usage: rejectedUsage },
};

/** Runs one command line and resolves to the exit code; never calls `process.exit`. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...args] = argv;
  if (command === 'help' || command === '--help' || command === '-h') {
    io.out(mainUsage);
    return exitCodes.ok;
  }
  if (command === undefined) {
    io.err('No command given: periodic-worker --help lists the commands');
    return exitCodes.usage;
  }
  const selected = Object.hasOwn(commands, command) ? commands[command] : undefined;
  if (!selected) {
    io.err(
      `Unknown command "${command}": the commands are ${Object.keys(commands).join(', ')} ` +
        '(periodic-worker --help)',
    );
    return exitCodes.usage;
  }
  try {
    return await selected.run(args, io);
  } catch (error) {
    // One line, the error first: the usage would scroll it away (--help shows it).
    if (error instanceof UsageError || isParseArgsError(error)) {
      io.err(`${oneLine(error.message)} (periodic-worker ${command} --help)`);
      return exitCodes.usage;
    }
    if (error instanceof ConfigError) {
      // A variable the CLI reads itself (REQUEST_TIMEOUT_MS): refused before anything is sent.
      io.err(`${command}: ${oneLine(error.message)}`);
      return exitCodes.usage;
    }
    if (error instanceof UnknownWorkerError || error instanceof NotInStackError) {
      io.err(error.message);
      return exitCodes.usage;
    }
    if (error instanceof DeploymentError) {
      io.err(`${command} failed: ${error.message}`);
      return exitCodes.failed;
    }
    const hint = failureHint(error, endpointOf(args, io.env));
    io.err(
      `${command} failed: ${hint ?? (error instanceof Error ? `${error.name}: ${error.message}` : String(error))}`,
    );
    return exitCodes.failed;
  }
}

/** `run nightly …`: a worker named before or among the options (a flag's value is not a worker). */
function isWorkerGiven(args: readonly string[]): boolean {
  const first = args[0];
  return first !== undefined && !first.startsWith('-');
}

function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ');
}

/** node:util parseArgs reports unknown flags and missing values as TypeErrors with an ERR_PARSE_ARGS_ code. */
function isParseArgsError(error: unknown): error is Error {
  return (
    error instanceof Error &&
    'code' in error &&
    typeof error.code === 'string' &&
    error.code.startsWith('ERR_PARSE_ARGS')
  );
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const interrupt = new AbortController();
  process.once('SIGINT', () => {
    process.stderr.write(
      '\nInterrupted: finishing writes in flight, then printing the checkpoint (Ctrl-C again quits now)\n',
    );
    interrupt.abort();
    process.once('SIGINT', () => process.exit(exitCodes.interrupted));
  });
  main(process.argv.slice(2), {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    env: process.env,
    now: () => new Date(),
    signal: interrupt.signal,
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = exitCodes.failed;
    },
  );
}
