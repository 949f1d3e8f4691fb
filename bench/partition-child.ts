/**
 * One function container for `partitions.ts`: a process of its own with the worker's environment (as the dev
 * runner's `local/dev/invoke-child.ts`), that builds the real handler once on `load` and invokes it for every
 * `invoke` message, as Lambda keeps a warm container. Its DynamoDB client waits `BENCH_LATENCY_MS` before every
 * request (`addFixedLatency`, the same latency model as in process) and tallies what it sends, by kind, so the
 * bench can say what an invocation spent its time on. Each invoke answers with the handler's record (or error) and
 * its figures.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { envNames } from '../functions/shared/config';
import { instrumentedHandler, type WorkerHandler } from './fixtures';
import { addFixedLatency } from './instrument';

/** The parent's messages. */
export type ChildRequest =
  | { readonly type: 'load' }
  | { readonly type: 'invoke'; readonly requestId: string; readonly event: unknown };

/** What one invocation sent and when (epoch milliseconds, comparable across processes). */
export interface InvocationFigures {
  readonly startedAt: number;
  readonly endedAt: number;
  /** The first passivation write sent, and the last one answered; undefined when it wrote none. */
  readonly firstWriteAt: number | undefined;
  readonly lastWriteAt: number | undefined;
  /** Requests by kind (`breaker:GetItem`, `users:UpdateItem`, …), refused conditions as `…:refused`. */
  readonly requests: Readonly<Record<string, number>>;
}

export type ChildReply =
  | { readonly type: 'loaded'; readonly pid: number }
  | {
      readonly type: 'result';
      readonly requestId: string;
      readonly ok: boolean;
      readonly record: unknown;
      readonly message?: string;
      readonly figures: InvocationFigures;
    };

const now = () => performance.timeOrigin + performance.now();

/** Kinds by the item a request touches: the lock table's items by their key's shape, the users table by table. */
function kindOf(input: Record<string, unknown>, env: NodeJS.ProcessEnv): string {
  const table = input.TableName;
  if (table === env[envNames.usersTableName]) return input.IndexName === undefined ? 'users' : 'users-index';
  if (table !== env[envNames.lockTableName]) return String(table);
  const key =
    String((input.Key as Record<string, unknown> | undefined)?.lockName ?? '') ||
    String((input.Item as Record<string, unknown> | undefined)?.lockName ?? '');
  if (key.endsWith('#breaker')) return 'breaker';
  if (key.includes('#run#')) return 'history';
  if (key.includes('#partition#')) return 'partition-lock';
  return key === '' ? 'lock-table' : 'worker-lock';
}

class RequestTally {
  requests: Record<string, number> = {};
  firstWriteAt: number | undefined;
  lastWriteAt: number | undefined;

  attach(client: DynamoDBDocumentClient, env: NodeJS.ProcessEnv): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const operation = String(context.commandName ?? '').replace(/Command$/, '');
        const kind = `${kindOf(args.input as Record<string, unknown>, env)}:${operation}`;
        this.requests[kind] = (this.requests[kind] ?? 0) + 1;
        const isWrite = kind === 'users:UpdateItem';
        if (isWrite) this.firstWriteAt ??= now();
        try {
          return await next(args);
        } catch (error) {
          if ((error as { name?: string }).name === 'ConditionalCheckFailedException') {
            this.requests[`${kind}:refused`] = (this.requests[`${kind}:refused`] ?? 0) + 1;
          }
          throw error;
        } finally {
          if (isWrite) this.lastWriteAt = now();
        }
      },
      { step: 'initialize', name: 'benchRequestTally', override: true },
    );
  }

  reset(): void {
    this.requests = {};
    this.firstWriteAt = undefined;
    this.lastWriteAt = undefined;
  }
}

const tally = new RequestTally();
let handler: WorkerHandler | undefined;

function load(): WorkerHandler {
  const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? '0');
  const env = Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  handler ??= instrumentedHandler(env, (client) => {
    addFixedLatency(client, latencyMs);
    tally.attach(client, process.env);
  });
  return handler;
}

const reply = (message: ChildReply) => process.send?.(message);

process.on('message', (message: ChildRequest) => {
  if (message.type === 'load') {
    load();
    reply({ type: 'loaded', pid: process.pid });
    return;
  }
  if (message.type !== 'invoke') return;
  const invoke = load();
  tally.reset();
  const startedAt = now();
  const figures = (): InvocationFigures => ({
    startedAt,
    endedAt: now(),
    firstWriteAt: tally.firstWriteAt,
    lastWriteAt: tally.lastWriteAt,
    requests: { ...tally.requests },
  });
  const deadline = Date.now() + 15 * 60_000;
  void invoke(message.event as Parameters<WorkerHandler>[0], {
    awsRequestId: `${message.requestId}-${randomUUID()}`,
    getRemainingTimeInMillis: () => deadline - Date.now(),
  }).then(
    (record) => reply({ type: 'result', requestId: message.requestId, ok: true, record, figures: figures() }),
    (error: unknown) =>
      reply({
        type: 'result',
        requestId: message.requestId,
        ok: false,
        record: (error as { summary?: unknown }).summary,
        message: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        figures: figures(),
      }),
  );
});
// The parent ends this process by closing the channel.
process.on('disconnect', () => process.exit(0));
