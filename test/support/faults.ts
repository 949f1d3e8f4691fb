/**
 * Fault injection for the integration suites, always in the client path and never in production code:
 *
 * - `startFaultProxy`: a small HTTP proxy in front of a local engine. Every DynamoDB request passes through it on
 *   the wire, so the production client (its timeouts, its retry strategy, its error deserialisation) meets the
 *   fault exactly as it would meet it from DynamoDB. A rule decides per request: forward (optionally late, or after
 *   running some other write first), answer with a DynamoDB error, or accept and never answer. Every request
 *   and what became of it is recorded, so tests count attempts and successful writes.
 * - `recordCommandNames`: an SDK middleware that records the command names a client sends.
 *
 * Why an error from the proxy is retried: the SDK's standard retry strategy retries an error whose name is in its
 * throttling list (ProvisionedThroughputExceededException, ThrottlingException, …), whose `$retryable` trait is
 * set, whose name is TimeoutError/RequestTimeout, or whose HTTP status is 500/502/503/504. The proxy answers with
 * DynamoDB's own JSON error shape (`__type` + `message`), which the SDK turns into exactly those names.
 */
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** One DynamoDB request as it arrived at the proxy. */
export interface DynamoCall {
  /** Arrival order, from 1. */
  readonly seq: number;
  /** The API action from `X-Amz-Target`: `PutItem`, `UpdateItem`, `Query`, … */
  readonly operation: string;
  readonly tableName: string | undefined;
  /** The JSON request body, in DynamoDB's wire format (`{ "S": "…" }` attribute values). */
  readonly body: Readonly<Record<string, unknown>>;
}

export type FaultAction =
  /** Pass the request on to the engine, after `delayMs` if given. */
  | { readonly kind: 'forward'; readonly delayMs?: number }
  /** Answer for the engine with a DynamoDB error; the engine never sees the request. */
  | { readonly kind: 'error'; readonly status: number; readonly type: string; readonly message: string }
  /** Accept the request and never answer: a hung connection. */
  | { readonly kind: 'hang' }
  /** Pass the request on, so the write happens, but never answer: the response is lost on the way back. */
  | { readonly kind: 'lose-response' };

/** Decides what happens to one request; may do other work first (a concurrent login, a delete) by awaiting. */
export type FaultRule = (call: DynamoCall) => FaultAction | Promise<FaultAction>;

/** A request and what became of it. */
export interface RecordedCall extends DynamoCall {
  /** What the rule decided; undefined while it is still deciding. */
  action: FaultAction['kind'] | undefined;
  /** The status sent back to the client; undefined while pending, when hung, or when the client had gone. */
  status: number | undefined;
  /** The DynamoDB error name of a failed answer (injected or from the engine), e.g. ConditionalCheckFailedException. */
  errorType: string | undefined;
  /** For a lost response: the status the engine answered with, which the client never saw. */
  deliveredStatus?: number;
}

export interface CallFilter {
  readonly operation?: string;
  readonly tableName?: string;
  /** Only successful (HTTP 200) answers. */
  readonly succeeded?: boolean;
  /** Only calls after this sequence number (see `FaultProxy.mark`). */
  readonly after?: number;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL_DYNAMODB`. */
  readonly endpoint: string;
  readonly calls: readonly RecordedCall[];
  /** Replaces the rule; `undefined` forwards everything. */
  setRule(rule: FaultRule | undefined): void;
  /** The sequence number of the last call so far, for counting what a later step sends. */
  mark(): number;
  count(filter: CallFilter): number;
  find(filter: CallFilter): RecordedCall[];
  /** Resolves once no request is being decided or forwarded (hung requests do not count). */
  idle(): Promise<void>;
  /** Stops listening and drops every connection, hung ones included. */
  stop(): Promise<void>;
}

const targetPrefix = 'DynamoDB_20120810.';

export async function startFaultProxy(engineEndpoint: string): Promise<FaultProxy> {
  const upstream = new URL(engineEndpoint);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const calls: RecordedCall[] = [];
  let rule: FaultRule | undefined;
  let inFlight = 0;
  let idleWaiters: Array<() => void> = [];

  const settle = () => {
    inFlight -= 1;
    if (inFlight === 0) {
      for (const resolve of idleWaiters) resolve();
      idleWaiters = [];
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const raw = await readBody(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    const body = parseJson(raw);
    const call: DynamoCall = {
      seq: calls.length + 1,
      operation: target.startsWith(targetPrefix) ? target.slice(targetPrefix.length) : target,
      tableName: typeof body.TableName === 'string' ? body.TableName : undefined,
      body,
    };
    const recorded: RecordedCall = { ...call, action: undefined, status: undefined, errorType: undefined };
    calls.push(recorded);
    const action = rule ? await rule(call) : forward;
    recorded.action = action.kind;

    if (action.kind === 'hang') return;
    if (action.kind === 'error') {
      recorded.errorType = action.type;
      answer(
        res,
        recorded,
        action.status,
        { 'content-type': 'application/x-amz-json-1.0' },
        errorBody(action),
      );
      return;
    }
    if (action.kind === 'forward' && action.delayMs) {
      await new Promise((resolve) => setTimeout(resolve, action.delayMs));
    }
    // Forwarded even if the client has given up meanwhile: a request in transit may still reach the service.
    const response = await passOn(agent, upstream, req, raw);
    if (response.status !== 200) recorded.errorType = errorTypeOf(parseJson(response.body));
    if (action.kind === 'lose-response') {
      recorded.deliveredStatus = response.status;
      return;
    }
    answer(res, recorded, response.status, response.headers, response.body);
  };

  const server = createServer((req, res) => {
    inFlight += 1;
    handle(req, res)
      .catch((error: unknown) => {
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`fault proxy: ${String(error)}`);
        }
      })
      .finally(settle);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  const matches = (call: RecordedCall, filter: CallFilter) =>
    (filter.operation === undefined || call.operation === filter.operation) &&
    (filter.tableName === undefined || call.tableName === filter.tableName) &&
    (filter.succeeded === undefined || (call.status === 200) === filter.succeeded) &&
    (filter.after === undefined || call.seq > filter.after);

  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    setRule(next) {
      rule = next;
    },
    mark: () => calls.length,
    count: (filter) => calls.filter((call) => matches(call, filter)).length,
    find: (filter) => calls.filter((call) => matches(call, filter)),
    idle: () => (inFlight === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve))),
    stop() {
      stopped ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
        agent.destroy();
      });
      return stopped;
    },
  };
}

/** DynamoDB's answer to a request over the table's or the account's throughput. */
export function throttled(): FaultAction {
  return {
    kind: 'error',
    status: 400,
    type: 'ProvisionedThroughputExceededException',
    message: 'The level of configured provisioned throughput for the table was exceeded (injected)',
  };
}

/** A 500 from DynamoDB: retried by the SDK, transient for the worker. */
export function internalServerError(): FaultAction {
  return {
    kind: 'error',
    status: 500,
    type: 'InternalServerError',
    message: 'Internal server error (injected)',
  };
}

/** A permissions problem: not retried, systemic for the worker. */
export function accessDenied(operation = 'PutItem'): FaultAction {
  return {
    kind: 'error',
    status: 400,
    type: 'AccessDeniedException',
    message: `User is not authorized to perform dynamodb:${operation} (injected)`,
  };
}

export const forward: FaultAction = { kind: 'forward' };

/** The string value of a key attribute of an item-level request (`Key` of Get/Update/Delete, `Item` of Put). */
export function keyValue(call: DynamoCall, attribute: string): string | undefined {
  const key = (call.body.Key ?? call.body.Item) as Record<string, { S?: unknown }> | undefined;
  const value = key?.[attribute]?.S;
  return typeof value === 'string' ? value : undefined;
}

/** Records the name of every command sent through `client` (and any document client made from it). */
export function recordCommandNames(client: DynamoDBClient): string[] {
  const names: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      names.push(context.commandName ?? 'unknown');
      return next(args);
    },
    { step: 'initialize', name: 'recordCommandNames' },
  );
  return names;
}

function answer(
  res: ServerResponse,
  recorded: RecordedCall,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  body: string,
): void {
  if (res.destroyed || res.writableEnded) return;
  recorded.status = status;
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function errorBody(action: Extract<FaultAction, { kind: 'error' }>): string {
  return JSON.stringify({
    __type: `com.amazonaws.dynamodb.v20120810#${action.type}`,
    message: action.message,
  });
}

function errorTypeOf(body: Record<string, unknown>): string | undefined {
  const type = body.__type;
  return typeof type === 'string' ? type.slice(type.lastIndexOf('#') + 1) : undefined;
}

interface UpstreamResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function passOn(agent: Agent, upstream: URL, req: IncomingMessage, body: string): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        agent,
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host, 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        readBody(response).then((text) => {
          const headers = { ...response.headers };
          delete headers['content-length'];
          delete headers['transfer-encoding'];
          delete headers.connection;
          resolve({ status: response.statusCode ?? 502, headers, body: text });
        }, reject);
      },
    );
    outgoing.once('error', reject);
    outgoing.end(body);
  });
}

function readBody(stream: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.once('error', reject);
  });
}

function parseJson(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
