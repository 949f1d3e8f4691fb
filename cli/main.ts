/**
 * `npm run cli -- <command>`: the operator's tool. `status` reads every worker's lock, pause and run history,
 * `pause`/`resume` flip a worker's runtime pause, `run` invokes the checker once (deployed, or in process with
 * --local), `backfill` brings an existing users table into the data contract. Bad arguments exit 2 with the usage,
 * before anything is read or written.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { backfillUsage, runBackfillCommand } from './backfill-command';
import { breakerUsage, runBreakerCommand } from './breaker';
import { endpointOf, failureHint } from './failure';
import { type CliIo, exitCodes, UsageError } from './io';
import { pauseUsage, resumeUsage, runPauseCommand, runResumeCommand } from './pause';
import { rejectedUsage, runRejectedCommand } from './rejected';
import { runRunCommand, runUsage } from './run';
import { runStatusCommand, statusUsage } from './status';

export const mainUsage = `Usage: npm run cli -- <command> [options]

Commands:
  status      every worker: its lock (holder, lease left, or free), pause and last run; the checker's breaker
  status <worker>
              one worker: its lock, pause and run history, newest first
  pause <worker> --reason "<why>"
              pause a worker at run time: its runs record "paused" and do nothing (no redeploy)
  resume <worker>
              remove a worker's pause
  run         run the checker once: the deployed function, or --local in this process
  backfill    bring an existing users table into the data contract (a dry run unless --apply)
  rejected    the users the checker took out of its index for a lastLoginAt that is no instant
  breaker     withdraw the mass-passivation breaker's approval (breaker withdraw)

npm run cli -- <command> --help shows a command's options.
Tables and endpoint come from flags or USERS_TABLE_NAME, LOCK_TABLE_NAME, AWS_ENDPOINT_URL_DYNAMODB.
Locally: npm run local:engine starts an engine with seeded tables and prints the lines to export.`;

interface Command {
  readonly run: (args: readonly string[], io: CliIo) => Promise<number>;
  readonly usage: string;
}

const commands: Record<string, Command> = {
  status: { run: runStatusCommand, usage: statusUsage },
  pause: { run: runPauseCommand, usage: pauseUsage },
  resume: { run: runResumeCommand, usage: resumeUsage },
  run: { run: runRunCommand, usage: runUsage },
  backfill: { run: (args, io) => runBackfillCommand(args, io), usage: backfillUsage },
  breaker: { run: runBreakerCommand, usage: breakerUsage },
  rejected: { run: runRejectedCommand, usage: rejectedUsage },
};

/** Runs one command line and resolves to the exit code; never calls `process.exit`. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    (command === undefined ? io.err : io.out)(mainUsage);
    return command === undefined ? exitCodes.usage : exitCodes.ok;
  }
  const selected = Object.hasOwn(commands, command) ? commands[command] : undefined;
  if (!selected) {
    io.err(`Unknown command "${command}"\n\n${mainUsage}`);
    return exitCodes.usage;
  }
  try {
    return await selected.run(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${error.message}\n\n${error.usage}`);
      return exitCodes.usage;
    }
    if (isParseArgsError(error)) {
      io.err(`${error.message}\n\n${selected.usage}`);
      return exitCodes.usage;
    }
    const hint = failureHint(error, endpointOf(args, io.env));
    io.err(
      `${command} failed: ${hint ?? (error instanceof Error ? `${error.name}: ${error.message}` : String(error))}`,
    );
    return exitCodes.failed;
  }
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
