import type {
  EventBridgeClient,
  PutEventsCommand,
  PutEventsCommandOutput,
} from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { EventBridgeDomainEvents } from '../../functions/passive-user-checker/event-publisher';

type Answer = (entries: { Detail?: string }[]) => PutEventsCommandOutput | Error;

/** Records every PutEvents call and answers it as the test says. */
function fakeEventBridge(answer: Answer) {
  const calls: { Detail?: string; EventBusName?: string; DetailType?: string; Source?: string }[][] = [];
  const client = {
    async send(command: PutEventsCommand) {
      const entries = command.input.Entries ?? [];
      calls.push(entries);
      const result = answer(entries);
      if (result instanceof Error) throw result;
      return result;
    },
  } as unknown as EventBridgeClient;
  return { client, calls };
}

const ok = (count: number): PutEventsCommandOutput => ({
  FailedEntryCount: 0,
  Entries: Array.from({ length: count }, (_, i) => ({ EventId: `e${i}` })),
  $metadata: {},
});

const events = (count: number) =>
  Array.from({ length: count }, (_, i) => ({
    userId: `u${i}`,
    lastLoginAt: '2026-01-01T00:00:00.000Z',
    passivatedAt: '2026-11-23T00:00:00.000Z',
    runId: 'run-1',
  }));

const noSleep = async () => {};

describe('EventBridgeDomainEvents', () => {
  it('sends UserPassivated events to the bus in batches of at most ten', async () => {
    const { client, calls } = fakeEventBridge((entries) => ok(entries.length));

    const undelivered = await new EventBridgeDomainEvents(client, 'users-bus', noSleep).publishPassivated(
      events(23),
    );

    expect(undelivered).toEqual([]);
    expect(calls.map((call) => call.length).sort((a, b) => a - b)).toEqual([3, 10, 10]);
    expect(calls[0]?.[0]).toMatchObject({
      EventBusName: 'users-bus',
      Source: 'passive-user-checker',
      DetailType: 'UserPassivated',
    });
    expect(JSON.parse(calls[0]?.[0]?.Detail ?? '{}')).toMatchObject({ runId: 'run-1' });
  });

  it('retries only the entries that failed', async () => {
    let attempt = 0;
    const { client, calls } = fakeEventBridge((entries) => {
      attempt += 1;
      if (attempt > 1) return ok(entries.length);
      return {
        FailedEntryCount: 1,
        Entries: entries.map((_, i) => (i === 1 ? { ErrorCode: 'InternalFailure' } : { EventId: `e${i}` })),
        $metadata: {},
      };
    });

    const undelivered = await new EventBridgeDomainEvents(client, 'bus', noSleep).publishPassivated(
      events(3),
    );

    expect(undelivered).toEqual([]);
    expect(calls).toHaveLength(2);
    expect(JSON.parse(calls[1]?.[0]?.Detail ?? '{}').userId).toBe('u1');
  });

  it('returns the userIds of entries still rejected after four attempts', async () => {
    const { client, calls } = fakeEventBridge((entries) => ({
      FailedEntryCount: entries.length,
      Entries: entries.map(() => ({ ErrorCode: 'ThrottlingException' })),
      $metadata: {},
    }));

    const undelivered = await new EventBridgeDomainEvents(client, 'bus', noSleep).publishPassivated(
      events(2),
    );

    expect(undelivered).toEqual(['u0', 'u1']);
    expect(calls).toHaveLength(4);
  });

  it('gives a call that failed as a whole back as undelivered without calling again (the SDK retried it)', async () => {
    const { client, calls } = fakeEventBridge(() =>
      Object.assign(new Error('denied'), { name: 'AccessDeniedException' }),
    );

    const undelivered = await new EventBridgeDomainEvents(client, 'bus', noSleep).publishPassivated(
      events(2),
    );

    expect(undelivered).toEqual(['u0', 'u1']);
    expect(calls).toHaveLength(1);
  });
});
