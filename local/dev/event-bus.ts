/**
 * A stand-in for EventBridge's PutEvents on a loopback port, so a worker that publishes (the checker's
 * `UserPassivated`) runs locally as deployed: its SDK client reaches it through the standard
 * `AWS_ENDPOINT_URL_EVENTBRIDGE` (the SDK names the variable by the service id, EventBridge), every entry is accepted and handed to `onEntries`, nothing leaves the machine.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LocalEventBus {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export interface PutEventsEntry {
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: string;
  readonly EventBusName?: string;
}

export async function startLocalEventBus(
  onEntries: (entries: PutEventsEntry[]) => void,
): Promise<LocalEventBus> {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    request.on('end', () => {
      const target = String(request.headers['x-amz-target'] ?? '');
      response.setHeader('content-type', 'application/x-amz-json-1.1');
      if (target !== 'AWSEvents.PutEvents') {
        response.statusCode = 400;
        response.end(
          JSON.stringify({ __type: 'UnknownOperationException', message: `${target} is not served locally` }),
        );
        return;
      }
      const entries = (JSON.parse(body || '{}') as { Entries?: PutEventsEntry[] }).Entries ?? [];
      onEntries(entries);
      response.end(
        JSON.stringify({ FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: randomUUID() })) }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
