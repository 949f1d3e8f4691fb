import { parseArgs } from 'node:util';
import { configDefaults, configLimits, envNames } from '../../functions/shared/config';
import {
  type CliIo,
  documentClientFor,
  dynamoDbEndpoint,
  exitCodes,
  formatCount,
  formatDuration,
  integerFlag,
  numberFlag,
  tableName,
  UsageError,
} from '../io';
import {
  type BackfillOptions,
  type BackfillProgress,
  type BackfillReport,
  backfill,
  problemDescriptions,
  problems,
} from './backfill';
import { type Checkpoint, CheckpointError, decodeCheckpoint } from './checkpoint';
import { describeTableIdentity, formatTableIdentity, sameTable, type TableIdentity } from './table-identity';
import { type Clock, systemClock } from './token-bucket';

export const backfillDefaults = {
  segments: 4,
  /** Small enough that the checkpoint moves every few seconds even at a low write rate. */
  pageSize: 100,
  maxWritesPerSecond: 50,
  progressEverySeconds: 5,
  checkpointEverySeconds: 30,
} as const;

export const backfillUsage = `Usage: periodic-worker backfill [options]

Brings an existing users table into the data contract: sets activeShard on active users that lack it, rewrites a
lastLoginAt in another spelling of an instant (…Z, an offset) to toISOString() form, and reports (never changes)
items it cannot fix without guessing (a lastLoginAt with no zone, say). A dry run unless --apply is given.

Options:
  --users-table <name>             the users table (default: $${envNames.usersTableName})
  --apply                          write; without it nothing is written (a dry run)
  --segments <n>                   parallel Scan segments, 1-128 (default ${backfillDefaults.segments})
  --shards <n>                     the worker's ACTIVE_SHARDS (default: $${envNames.activeShards} or ${configDefaults.activeShards})
  --max-writes-per-second <r>      UpdateItem rate bound, 0.1-40000 (default ${backfillDefaults.maxWritesPerSecond})
  --page-size <n>                  items per Scan page, 1-10000 (default ${backfillDefaults.pageSize})
  --resume <checkpoint>            continue from a printed checkpoint instead of starting over
  --progress-every <seconds>       progress line period on stderr (default ${backfillDefaults.progressEverySeconds})
  --checkpoint-every <seconds>     checkpoint period on stderr (default ${backfillDefaults.checkpointEverySeconds})
  --endpoint <url>                 a local engine (default: $AWS_ENDPOINT_URL_DYNAMODB, else AWS)
  --region <name>                  the table's region (default: $AWS_REGION, else the SDK's chain)
  --json                           print the report as JSON
  -h, --help                       show this help

A checkpoint is bound to the table it was taken on (its ARN and creation time, the endpoint and the region):
resuming it anywhere else is refused.
Exit codes: 0 done, 1 failed or some writes failed (resume with the checkpoint), 2 bad arguments or a
checkpoint of another table, 130 interrupted (resume with the checkpoint).`;

/** The job as the command line describes it; the table's identity is looked up when it runs. */
export type BackfillJob = Omit<BackfillOptions, 'tableIdentity'>;

export interface BackfillCommand {
  readonly options: BackfillJob;
  readonly endpoint: string | undefined;
  /** From --region or $AWS_REGION; undefined leaves it to the SDK's chain. */
  readonly region: string | undefined;
  readonly json: boolean;
}

const regionPattern = /^[a-z0-9-]{1,64}$/;

export function parseBackfillArgs(args: readonly string[], io: CliIo): BackfillCommand | undefined {
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: false,
    options: {
      'users-table': { type: 'string' },
      apply: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      segments: { type: 'string' },
      shards: { type: 'string' },
      'max-writes-per-second': { type: 'string' },
      'page-size': { type: 'string' },
      resume: { type: 'string' },
      'progress-every': { type: 'string' },
      'checkpoint-every': { type: 'string' },
      endpoint: { type: 'string' },
      region: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return undefined;
  const usage = backfillUsage;
  const region = values.region ?? (io.env.AWS_REGION || undefined);
  if (region !== undefined && !regionPattern.test(region)) {
    throw new UsageError(
      `--region must be a region name (a-z 0-9 -), got ${JSON.stringify(region)}${values.region === undefined ? ' (from AWS_REGION)' : ''}`,
      usage,
    );
  }
  if (values.apply && values['dry-run']) {
    throw new UsageError('--apply and --dry-run exclude each other (a dry run is the default)', usage);
  }
  const table = tableName('users-table', values['users-table'], envNames.usersTableName, io.env, usage);
  const shardsRaw = values.shards ?? (io.env[envNames.activeShards] || undefined);
  const shardsFlag = values.shards !== undefined ? 'shards' : `shards (from ${envNames.activeShards})`;
  let shards = integerFlag(
    shardsFlag,
    shardsRaw,
    configDefaults.activeShards,
    configLimits.activeShards,
    usage,
  );
  let segments = integerFlag(
    'segments',
    values.segments,
    backfillDefaults.segments,
    { min: 1, max: 128 },
    usage,
  );

  let resume: Checkpoint | undefined;
  if (values.resume !== undefined) {
    try {
      resume = decodeCheckpoint(values.resume);
    } catch (error) {
      if (error instanceof CheckpointError) throw new UsageError(`--resume: ${error.message}`, usage);
      throw error;
    }
    if (resume.table !== table) {
      throw new UsageError(`--resume: the checkpoint is for table "${resume.table}", not "${table}"`, usage);
    }
    if (resume.apply !== values.apply) {
      throw new UsageError(
        resume.apply
          ? '--resume: the checkpoint was taken with --apply; add --apply to resume it'
          : '--resume: the checkpoint was taken by a dry run, which wrote nothing; start an --apply run from scratch',
        usage,
      );
    }
    if (shardsRaw !== undefined && shards !== resume.shards) {
      throw new UsageError(
        `--shards: the checkpoint was taken with ${resume.shards} shards, not ${shards}`,
        usage,
      );
    }
    if (values.segments !== undefined && segments !== resume.segments.length) {
      throw new UsageError(
        `--segments: the checkpoint has ${resume.segments.length} segments, not ${segments}`,
        usage,
      );
    }
    shards = resume.shards;
    segments = resume.segments.length;
  }

  const seconds = (flag: string, raw: string | undefined, fallback: number) =>
    numberFlag(flag, raw, fallback, { min: 0.05, max: 3600 }, usage) * 1000;
  return {
    options: {
      tableName: table,
      segments,
      activeShards: shards,
      apply: values.apply,
      pageSize: integerFlag(
        'page-size',
        values['page-size'],
        backfillDefaults.pageSize,
        { min: 1, max: 10_000 },
        usage,
      ),
      maxWritesPerSecond: numberFlag(
        'max-writes-per-second',
        values['max-writes-per-second'],
        backfillDefaults.maxWritesPerSecond,
        { min: 0.1, max: 40_000 },
        usage,
      ),
      resume,
      progressEveryMs: seconds(
        'progress-every',
        values['progress-every'],
        backfillDefaults.progressEverySeconds,
      ),
      checkpointEveryMs: seconds(
        'checkpoint-every',
        values['checkpoint-every'],
        backfillDefaults.checkpointEverySeconds,
      ),
    },
    endpoint: dynamoDbEndpoint(values.endpoint, io.env, usage),
    region,
    json: values.json,
  };
}

export async function runBackfillCommand(
  args: readonly string[],
  io: CliIo,
  clock: Clock = systemClock,
): Promise<number> {
  const command = parseBackfillArgs(args, io);
  if (!command) {
    io.out(backfillUsage);
    return exitCodes.ok;
  }
  const client = documentClientFor(command.endpoint, io.env, command.region);
  try {
    const tableIdentity = await describeTableIdentity(client, command.options.tableName, command.endpoint);
    if (command.options.resume) refuseAnotherTable(command.options.resume.identity, tableIdentity);
    const options: BackfillOptions = { ...command.options, tableIdentity };
    io.err(
      `Backfill of ${options.tableName}: ${options.apply ? `APPLY, at most ${options.maxWritesPerSecond} writes/s` : 'dry run, nothing is written'}; ` +
        `${options.segments} segments, ${options.activeShards} shards${options.resume ? ', resumed from a checkpoint' : ''}`,
    );
    const report = await backfill(options, {
      client,
      clock,
      ...(io.signal ? { signal: io.signal } : {}),
      onProgress: (progress) => io.err(describeProgress(progress, options.apply)),
      onSegmentDone: (segment) => io.err(`backfill: segment ${segment} done`),
      onCheckpoint: (token) => io.err(`checkpoint ${token}`),
    });
    if (command.json) io.out(JSON.stringify(report, null, 2));
    else for (const line of describeReport(report)) io.out(line);
    if (report.checkpoint) {
      io.err(`Resume with: ${resumeCommandLine(command, tableIdentity, report.checkpoint)}`);
    }
    if (report.outcome === 'interrupted') return exitCodes.interrupted;
    return report.outcome === 'completed' && report.failed === 0 ? exitCodes.ok : exitCodes.failed;
  } finally {
    client.destroy();
  }
}

/** Checked before any item is read: only the table the checkpoint was taken on has the items it skips. */
function refuseAnotherTable(taken: TableIdentity, current: TableIdentity): void {
  if (sameTable(taken, current)) return;
  throw new UsageError(
    '--resume: the checkpoint was taken on another table than this one, and resuming would skip items it ' +
      'never read:\n' +
      `  checkpoint  ${formatTableIdentity(taken)}\n` +
      `  current     ${formatTableIdentity(current)}\n` +
      'Resume it where it was taken (its endpoint and region), or start over here without --resume.',
    backfillUsage,
  );
}

/**
 * `periodic-worker backfill …` with every flag that shapes the job, resolved: pasted into another shell, where
 * USERS_TABLE_NAME, AWS_ENDPOINT_URL_DYNAMODB or AWS_REGION may differ or be unset, it resumes the same job.
 */
export function resumeCommandLine(command: BackfillCommand, identity: TableIdentity, token: string): string {
  const { options } = command;
  const seconds = (ms: number) => String(ms / 1000);
  const words = [
    'backfill',
    '--users-table',
    options.tableName,
    ...(command.endpoint === undefined ? [] : ['--endpoint', command.endpoint]),
    '--region',
    identity.region,
    '--shards',
    String(options.activeShards),
    '--segments',
    String(options.segments),
    '--page-size',
    String(options.pageSize),
    '--max-writes-per-second',
    String(options.maxWritesPerSecond),
    ...(options.progressEveryMs === backfillDefaults.progressEverySeconds * 1000
      ? []
      : ['--progress-every', seconds(options.progressEveryMs)]),
    ...(options.checkpointEveryMs === backfillDefaults.checkpointEverySeconds * 1000
      ? []
      : ['--checkpoint-every', seconds(options.checkpointEveryMs)]),
    ...(command.json ? ['--json'] : []),
    ...(options.apply ? ['--apply'] : []),
    '--resume',
    token,
  ];
  return `periodic-worker ${words.map(shellWord).join(' ')}`;
}

/** A word as a POSIX shell reads it back: bare when safe, else in single quotes. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

function describeProgress(progress: BackfillProgress, apply: boolean): string {
  const written = apply ? `updated ${formatCount(progress.updated)}` : 'dry run';
  return (
    `backfill: scanned ${formatCount(progress.scanned)} | needs shard ${formatCount(progress.needsShard)} (${written}) | ` +
    `reported ${formatCount(progress.reported)} | changed ${progress.changed} | failed ${progress.failed} | ` +
    `${formatCount(Math.round(progress.itemsPerSecond))} items/s` +
    `${apply ? `, ${progress.writesPerSecond.toFixed(1)} writes/s` : ''} | ` +
    `segments ${progress.segmentsDone}/${progress.segments} done | ${formatDuration(progress.elapsedMs)}`
  );
}

export function describeReport(report: BackfillReport): string[] {
  const mode = report.apply ? 'applied' : 'dry run: nothing was written, re-run with --apply to write';
  const lines = [
    `Backfill of ${report.table} (${mode}): ${report.outcome}${report.complete ? '' : ', NOT complete'}`,
    `  scanned            ${formatCount(report.scanned)} items in ${formatDuration(report.elapsedMs)}` +
      (report.resumed
        ? ` (resumed; ${report.segments.filter((s) => s.skipped).length} segments already done)`
        : ''),
    `  in contract        ${formatCount(report.inContract)}`,
    `  needs activeShard  ${formatCount(report.needsShard)}${report.apply ? '' : ' (would be set)'}`,
    `  other spelling     ${formatCount(report.needsCanonicalLastLoginAt)} lastLoginAt an instant not in toISOString() form${report.apply ? '' : ' (would be rewritten)'}`,
  ];
  if (report.apply) {
    lines.push(
      `  updated            ${formatCount(report.updated)} (${formatCount(report.canonicalized)} with lastLoginAt rewritten)`,
      `  changed since read ${formatCount(report.changed)}${report.changed > 0 ? ' (left alone; re-run to recheck them)' : ''}`,
      `  failed             ${formatCount(report.failed)}${report.failed > 0 ? ` e.g. ${report.failedSampleUserIds.join(', ')}` : ''}`,
    );
  }
  lines.push(`  reported           ${formatCount(report.reported)} items, not changed`);
  for (const problem of problems) {
    const entry = report.problems[problem];
    if (entry.count === 0) continue;
    lines.push(
      `    ${problem.padEnd(22)} ${formatCount(entry.count).padStart(7)}  ${problemDescriptions[problem]}`,
      `      e.g. ${entry.sampleUserIds.join(', ')}`,
    );
  }
  if (report.error) lines.push(`  error              ${report.error}`);
  return lines;
}
