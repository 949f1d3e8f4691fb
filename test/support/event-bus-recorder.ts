/**
 * A stand-in for EventBridge's `PutEvents` on loopback, for the integration suites: there is no local EventBridge
 * engine, so the production EventBridge client (pointed here by the SDK's standard `AWS_ENDPOINT_URL_EVENTBRIDGE`)
 * speaks the real wire protocol (AWS JSON 1.1) to a server that records every entry and answers as EventBridge
 * does, including per-entry failures when a test asks for them. DynamoDB stays a real engine.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedEvent {
  readonly eventBusName: string | undefined;
  readonly source: string | undefined;
  readonly detailType: string | undefined;
  readonly detail: Readonly<Record<string, unknown>>;
}

/** Returns an EventBridge error code for an entry it should reject (as a partial failure), or undefined. */
export type EntryRule = (event: RecordedEvent) => string | undefined;

export interface EventBusRecorder {
  /** `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL_EVENTBRIDGE`. */
  readonly endpoint: string;
  /** Entries EventBridge accepted, in arrival order. */
  readonly accepted: readonly RecordedEvent[];
  /** Entries per PutEvents call, rejected ones included. */
  readonly callSizes: readonly number[];
  setRule(rule: EntryRule | undefined): void;
  /** While on, every PutEvents request is read and never answered: a hung connection. */
  setHanging(hanging: boolean): void;
  /** PutEvents requests left unanswered while hanging was on. */
  readonly hungCalls: number;
  /**
   * While on, every PutEvents request is received (and counted in `heldCalls`) but answered only once holding is
   * turned off: a slow bus, without timing.
   */
  setHolding(holding: boolean): void;
  readonly heldCalls: number;
  /** PutEvents requests answered so far. */
  readonly answeredCalls: number;
  /** Accepted entries of one detail type. */
  ofType(detailType: string): RecordedEvent[];
  stop(): Promise<void>;
}

const putEventsTarget = 'AWSEvents.PutEvents';

export async function startEventBusRecorder(): Promise<EventBusRecorder> {
  const accepted: RecordedEvent[] = [];
  const callSizes: number[] = [];
  let rule: EntryRule | undefined;
  let hanging = false;
  let hungCalls = 0;
  let heldCalls = 0;
  let answeredCalls = 0;
  let holdGate: { promise: Promise<void>; open: () => void } | undefined;
  let nextId = 1;

  const server = createServer((req, res) => {
    void answer(req, res).catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ __type: 'InternalException', message: String(error) }));
    });
  });

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.headers['x-amz-target'] !== putEventsTarget) {
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ __type: 'UnknownOperationException', message: 'only PutEvents is recorded' }));
      return;
    }
    if (hanging) {
      hungCalls += 1;
      return;
    }
    if (holdGate) {
      heldCalls += 1;
      await holdGate.promise;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Entries?: WireEntry[] };
    const entries = (body.Entries ?? []).map(fromWire);
    callSizes.push(entries.length);
    const results = entries.map((event) => {
      const errorCode = rule?.(event);
      if (errorCode !== undefined) return { ErrorCode: errorCode, ErrorMessage: 'rejected by the test' };
      accepted.push(event);
      return { EventId: `event-${nextId++}` };
    });
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
    res.end(
      JSON.stringify({
        FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length,
        Entries: results,
      }),
    );
    answeredCalls += 1;
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    accepted,
    callSizes,
    setRule(next) {
      rule = next;
    },
    setHanging(next) {
      hanging = next;
    },
    get hungCalls() {
      return hungCalls;
    },
    setHolding(holding) {
      if (holding && !holdGate) {
        let open: () => void = () => {};
        const promise = new Promise<void>((resolve) => {
          open = resolve;
        });
        holdGate = { promise, open };
      } else if (!holding && holdGate) {
        holdGate.open();
        holdGate = undefined;
      }
    },
    get heldCalls() {
      return heldCalls;
    },
    get answeredCalls() {
      return answeredCalls;
    },
    ofType(detailType) {
      return accepted.filter((event) => event.detailType === detailType);
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}

interface WireEntry {
  readonly EventBusName?: string;
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: string;
}

function fromWire(entry: WireEntry): RecordedEvent {
  return {
    eventBusName: entry.EventBusName,
    source: entry.Source,
    detailType: entry.DetailType,
    detail: JSON.parse(entry.Detail ?? '{}') as Record<string, unknown>,
  };
}
