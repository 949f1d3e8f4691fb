/**
 * What `npm start` says about a checker run to a person: its figures on one line, then what happened to each user
 * and why, judged from the users table before and after the run (every user after the first run, then only the
 * users whose status changed).
 */
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { CheckerSummary } from '../../functions/passive-user-checker/ports';
import { canonicalInstant, dayMs, isCanonicalUtcInstant } from '../../functions/shared/instant';
import { userStatus, usersTable } from '../../functions/shared/users-table-schema';
import { outcomeText, type RunRecordLike } from '../dev/runner';
import type { UserItem } from './seed';

const a = usersTable.attributes;
const maxUsersListed = 40;

/** Every user of the table, by id (local tooling only: the worker itself never scans). */
async function usersById(
  documents: DynamoDBDocumentClient,
  tableName: string,
): Promise<Map<string, UserItem>> {
  const users = new Map<string, UserItem>();
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) users.set(String(item[a.userId]), item as UserItem);
    start = page.LastEvaluatedKey;
  } while (start !== undefined && users.size < 10_000);
  return users;
}

const daysAgo = (iso: string, now: Date): string => {
  const days = Math.floor((now.getTime() - Date.parse(iso)) / dayMs);
  return days === 0 ? 'today' : days === 1 ? '1 day ago' : `${days} days ago`;
};

/** What happened to one user in a checker run, and why, from the item before and after. */
export function userVerdict(
  before: UserItem,
  after: UserItem | undefined,
  run: {
    readonly cutoff: string;
    readonly inactiveDays: number;
    readonly dryRun: boolean;
    readonly complete: boolean;
    readonly now: Date;
  },
): { readonly verdict: string; readonly why: string } {
  const stored = before[a.lastLoginAt];
  // Another spelling of an instant is judged as that instant, as the job does.
  const lastLogin = canonicalInstant(stored);
  if (before[a.status] !== userStatus.active) {
    const since = before[a.passivatedAt];
    return {
      verdict: String(before[a.status]),
      why: `not in the index${typeof since === 'string' && isCanonicalUtcInstant(since) ? `, passivated ${daysAgo(since, run.now)}` : ''}`,
    };
  }
  if (after !== undefined && after[a.status] === userStatus.passive) {
    return {
      verdict: 'passivated',
      why: `last login ${daysAgo(String(lastLogin), run.now)}, past the ${run.inactiveDays}-day cutoff`,
    };
  }
  if (lastLogin === undefined) {
    return {
      verdict: 'malformed',
      why: `lastLoginAt ${JSON.stringify(stored)} is not an ISO-8601 instant with a zone: never guessed, out of the index until the next login (npm run cli -- rejected lists it)`,
    };
  }
  if (lastLogin >= run.cutoff) {
    return {
      verdict: 'fresh',
      why: `last login ${daysAgo(lastLogin, run.now)}, inside the ${run.inactiveDays} days`,
    };
  }
  if (before[a.neverPassivate] === true) {
    return { verdict: 'exempt', why: `last login ${daysAgo(lastLogin, run.now)}, but neverPassivate is set` };
  }
  if (run.dryRun) {
    return {
      verdict: 'would passivate',
      why: `last login ${daysAgo(lastLogin, run.now)} (dry run: nothing written)`,
    };
  }
  return {
    verdict: 'stale',
    why: run.complete
      ? `last login ${daysAgo(lastLogin, run.now)}, still active (a write failed or raced a login: see the run's figures)`
      : `last login ${daysAgo(lastLogin, run.now)}, not reached before the run stopped; the next run goes on`,
  };
}

/** The lines about the checker's runs: take `snapshot()` before a run, `describe()` after it. */
export class CheckerRunExplainer {
  private before: Map<string, UserItem> | undefined;
  private listedOnce = false;

  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly usersTableName: string,
    private readonly inactiveDays: number,
  ) {}

  async snapshot(): Promise<void> {
    this.before = await usersById(this.documents, this.usersTableName);
  }

  async describe(worker: string, record: RunRecordLike): Promise<string[]> {
    const r = record as RunRecordLike & Partial<CheckerSummary>;
    const figures =
      r.outcome === 'lock-held' || r.outcome === 'paused'
        ? ''
        : r.dryRun
          ? `: would passivate ${r.wouldPassivate ?? 0}, ${r.exempt ?? 0} exempt, ${r.malformed ?? 0} malformed`
          : `: ${r.passivated ?? 0} passivated, ${r.exempt ?? 0} exempt, ${r.malformed ?? 0} malformed, ${r.raceSkipped ?? 0} raced a login, ${r.failed ?? 0} failed`;
    const lines = [`${worker}: ${outcomeText(record)}${figures}`];
    const before = this.before;
    if (before === undefined || typeof r.cutoff !== 'string') return lines;
    const after = await usersById(this.documents, this.usersTableName);
    const now = new Date();
    const changed = [...before.keys()].filter(
      (id) => before.get(id)?.[a.status] !== after.get(id)?.[a.status],
    );
    const ids = this.listedOnce ? changed : [...before.keys()];
    this.listedOnce = true;
    const shown = ids.sort().slice(0, maxUsersListed);
    const width = Math.max(0, ...shown.map((id) => id.length));
    for (const id of shown) {
      const { verdict, why } = userVerdict(before.get(id) as UserItem, after.get(id), {
        cutoff: r.cutoff,
        inactiveDays: this.inactiveDays,
        dryRun: r.dryRun === true,
        complete: r.complete === true,
        now,
      });
      lines.push(`  ${id.padEnd(width)}  ${verdict.padEnd(15)} ${why}`);
    }
    if (ids.length > shown.length) lines.push(`  … and ${ids.length - shown.length} more`);
    return lines;
  }
}
