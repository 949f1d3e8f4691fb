/**
 * What the as-deployed benchmark sees of a child process from outside, on loopback: a counting proxy in front of
 * the engine and a stand-in for EventBridge's PutEvents, both recording every request with its arrival and answer
 * times, and a sampler of the requests in flight. The child runs the code unchanged; only its endpoints
 * (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_EVENTBRIDGE`) point here.
 */
import { Agent, createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes on one machine. */
export const epochMs = (): number => performance.timeOrigin + performance.now();

/**
 * What a request was, as far as the stall analysis needs to know: the breaker's pass over the index (a Query with
 * no Limit), a page of candidates (a Query with a Limit), a COUNT, the passivation writes, the events, the rest.
 */
export type RequestKind = 'UpdateItem' | 'CandidatePage' | 'IndexScan' | 'Count' | 'PutEvents' | 'Other';
export const requestKinds: readonly RequestKind[] = [
  'UpdateItem',
  'CandidatePage',
  'IndexScan',
  'Count',
  'PutEvents',
  'Other',
];

export interface RequestRecord {
  readonly kind: RequestKind;
  /** The API action: `UpdateItem`, `Query`, `GetItem`, `PutEvents`, … */
  readonly operation: string;
  /** When the request's headers arrived, and when its answer was sent (epoch ms). */
  readonly startMs: number;
  endMs: number;
  status: number;
  /** UpdateItem: the user's id; Query: the shard. */
  readonly key: string | undefined;
  /** CandidatePage: the user ids the page returned; PutEvents: the user ids of its entries. */
  userIds: readonly string[] | undefined;
}

/** Requests in flight right now, by kind, and every request seen. */
export class TrafficRecorder {
  readonly records: RequestRecord[] = [];
  readonly inFlight: Record<RequestKind, number> = {
    UpdateItem: 0,
    CandidatePage: 0,
    IndexScan: 0,
    Count: 0,
    PutEvents: 0,
    Other: 0,
  };
  /** TCP connections the child opened to the proxy and to the events endpoint. */
  connections = 0;

  begin(kind: RequestKind, operation: string, key: string | undefined): RequestRecord {
    const record: RequestRecord = {
      kind,
      operation,
      startMs: epochMs(),
      endMs: Number.NaN,
      status: 0,
      key,
      userIds: undefined,
    };
    this.inFlight[kind] += 1;
    this.records.push(record);
    return record;
  }

  end(record: RequestRecord, status: number): void {
    record.endMs = epochMs();
    record.status = status;
    this.inFlight[record.kind] -= 1;
  }

  clear(): void {
    this.records.length = 0;
    this.connections = 0;
  }
}

/** Requests in flight, sampled every `intervalMs`: the stall made visible as a number rather than inferred. */
export interface InFlightSamples {
  readonly intervalMs: number;
  readonly atMs: number[];
  /** Per sample: DynamoDB requests of any kind, UpdateItems alone, PutEvents calls. */
  readonly dynamo: number[];
  readonly updates: number[];
  readonly events: number[];
}

export function sampleInFlight(
  recorder: TrafficRecorder,
  intervalMs = 5,
): { samples: InFlightSamples; stop(): void } {
  const samples: InFlightSamples = { intervalMs, atMs: [], dynamo: [], updates: [], events: [] };
  const timer = setInterval(() => {
    const f = recorder.inFlight;
    samples.atMs.push(epochMs());
    samples.dynamo.push(f.UpdateItem + f.CandidatePage + f.IndexScan + f.Count + f.Other);
    samples.updates.push(f.UpdateItem);
    samples.events.push(f.PutEvents);
  }, intervalMs);
  return { samples, stop: () => clearInterval(timer) };
}

export interface LoopbackServer {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  stop(): Promise<void>;
}

const dynamoTargetPrefix = 'DynamoDB_20120810.';

export interface CountingProxy extends LoopbackServer {
  /** Holds every request this long before passing it on: the round trip to DynamoDB from a Lambda function. */
  setDelayMs(delayMs: number): void;
}

/**
 * A counting proxy in front of a DynamoDB engine. It reads each body only as far as the analysis needs: the key of
 * an UpdateItem (a regular expression, no JSON parse), the shard and the returned ids of a Query.
 */
export async function startCountingProxy(
  engineEndpoint: string,
  recorder: TrafficRecorder,
  userIdAttribute: string,
): Promise<CountingProxy> {
  let delayMs = 0;
  const upstream = new URL(engineEndpoint);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const updateKey = new RegExp(`"Key":\\{"${userIdAttribute}":\\{"S":"([^"]*)"`);
  const server = createServer((req, res) => {
    void readBody(req).then(async (body) => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith(dynamoTargetPrefix)
        ? target.slice(dynamoTargetPrefix.length)
        : target;
      const { kind, key } = classify(operation, body, updateKey);
      const record = recorder.begin(kind, operation, key);
      try {
        if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
        const answer = await passOn(agent, upstream, req, body);
        if (kind === 'CandidatePage' && answer.status === 200) {
          record.userIds = returnedIds(answer.body, userIdAttribute);
        }
        res.writeHead(answer.status, { ...answer.headers, 'content-length': answer.body.length });
        res.end(answer.body);
        recorder.end(record, answer.status);
      } catch (error) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`counting proxy: ${String(error)}`);
        recorder.end(record, 502);
      }
    });
  });
  server.on('connection', () => {
    recorder.connections += 1;
  });
  const endpoint = await listen(server);
  return {
    endpoint,
    setDelayMs(next) {
      delayMs = next;
    },
    stop: () => close(server, () => agent.destroy()),
  };
}

function classify(
  operation: string,
  body: Buffer,
  updateKey: RegExp,
): { kind: RequestKind; key: string | undefined } {
  if (operation === 'UpdateItem') {
    // A write keyed by a user id is a passivation; the lease and the breaker's state are keyed by lock name.
    const userId = updateKey.exec(body.toString('utf8'))?.[1];
    return userId === undefined ? { kind: 'Other', key: undefined } : { kind: 'UpdateItem', key: userId };
  }
  if (operation !== 'Query') return { kind: 'Other', key: undefined };
  const query = JSON.parse(body.toString('utf8')) as {
    Select?: string;
    Limit?: number;
    ExpressionAttributeValues?: Record<string, { S?: string }>;
  };
  const shard = query.ExpressionAttributeValues?.[':shard']?.S;
  if (query.Select === 'COUNT') return { kind: 'Count', key: shard };
  return { kind: query.Limit === undefined ? 'IndexScan' : 'CandidatePage', key: shard };
}

function returnedIds(body: Buffer, userIdAttribute: string): string[] {
  const parsed = JSON.parse(body.toString('utf8')) as { Items?: Record<string, { S?: string }>[] };
  return (parsed.Items ?? []).flatMap((item) => {
    const id = item[userIdAttribute]?.S;
    return id === undefined ? [] : [id];
  });
}

export interface PutEventsServer extends LoopbackServer {
  /** Delay before each answer, like EventBridge's own latency seen from Lambda. */
  setDelayMs(delayMs: number): void;
  /** Entries accepted so far. */
  readonly entries: () => number;
}

/**
 * A stand-in for EventBridge's PutEvents (AWS JSON 1.1): accepts every entry after a configurable delay and records
 * the user ids the entries name, so each call can be placed on the timeline of the page it belongs to.
 */
export async function startPutEventsServer(recorder: TrafficRecorder): Promise<PutEventsServer> {
  let delayMs = 0;
  let entries = 0;
  let nextId = 1;
  const server = createServer((req, res) => {
    void readBody(req).then(async (body) => {
      const record = recorder.begin('PutEvents', 'PutEvents', undefined);
      if (req.headers['x-amz-target'] !== 'AWSEvents.PutEvents') {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ __type: 'UnknownOperationException', message: 'only PutEvents' }));
        recorder.end(record, 400);
        return;
      }
      const parsed = JSON.parse(body.toString('utf8')) as { Entries?: { Detail?: string }[] };
      const list = parsed.Entries ?? [];
      record.userIds = list.flatMap((entry) => {
        const detail = JSON.parse(entry.Detail ?? '{}') as { userId?: unknown };
        return typeof detail.userId === 'string' ? [detail.userId] : [];
      });
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      entries += list.length;
      const answer = JSON.stringify({
        FailedEntryCount: 0,
        Entries: list.map(() => ({ EventId: `bench-${nextId++}` })),
      });
      res.writeHead(200, {
        'content-type': 'application/x-amz-json-1.1',
        'content-length': Buffer.byteLength(answer),
      });
      res.end(answer);
      recorder.end(record, 200);
    });
  });
  server.on('connection', () => {
    recorder.connections += 1;
  });
  const endpoint = await listen(server);
  return {
    endpoint,
    setDelayMs(next) {
      delayMs = next;
    },
    entries: () => entries,
    stop: () => close(server),
  };
}

interface UpstreamAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

function passOn(agent: Agent, upstream: URL, req: IncomingMessage, body: Buffer): Promise<UpstreamAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        agent,
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host, 'content-length': body.length },
      },
      (response) => {
        readBody(response).then((answer) => {
          const headers = { ...response.headers };
          delete headers['content-length'];
          delete headers['transfer-encoding'];
          delete headers.connection;
          resolve({ status: response.statusCode ?? 502, headers, body: answer });
        }, reject);
      },
    );
    outgoing.once('error', reject);
    outgoing.end(body);
  });
}

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

async function listen(server: Server): Promise<string> {
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function close(server: Server, after?: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => {
      after?.();
      if (error) reject(error);
      else resolve();
    });
    server.closeAllConnections();
  });
}
