import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { type ClientSettings, httpHandler } from '../shared/clients';
import { serviceName } from './observability-names';
import type { DomainEvents, UserInactivityWarningEvent, UserPassivatedEvent } from './ports';

/**
 * The EventBridge client, with the same request timeout and attempts as DynamoDB's: a hung PutEvents must not hold
 * the run (and its lock) until the function times out. `AWS_ENDPOINT_URL_EVENTBRIDGE` points it elsewhere. Kept
 * here, not beside the DynamoDB client, so a worker that publishes nothing does not load the EventBridge client.
 */
export function createEventBridgeClient(settings: ClientSettings): EventBridgeClient {
  return new EventBridgeClient({
    maxAttempts: settings.maxAttempts,
    retryMode: 'standard',
    requestHandler: httpHandler(settings),
  });
}

/** PutEvents takes at most 10 entries per call. */
const entriesPerCall = 10;
const attempts = 4;
const baseBackoffMs = 100;

export const eventSource = serviceName;
export const eventDetailTypes = {
  userPassivated: 'UserPassivated',
  userInactivityWarning: 'UserInactivityWarning',
} as const;

/**
 * Publishes domain events to EventBridge in batches of ten. Entries rejected one by one (a partial failure, which
 * the SDK does not retry) are retried here with backoff. A call that fails as a whole has already been retried by
 * the SDK (MAX_ATTEMPTS, each bounded by REQUEST_TIMEOUT_MS), so it ends the batch: retrying it again here would
 * multiply a hung endpoint's cost past the run's safety margin. What still fails is returned so the run counts and
 * logs it, never dropped.
 */
export class EventBridgeDomainEvents implements DomainEvents {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly eventBusName: string,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  publishPassivated(events: readonly UserPassivatedEvent[]): Promise<readonly string[]> {
    return this.publish(eventDetailTypes.userPassivated, events);
  }

  publishInactivityWarnings(events: readonly UserInactivityWarningEvent[]): Promise<readonly string[]> {
    return this.publish(eventDetailTypes.userInactivityWarning, events);
  }

  private async publish(
    detailType: string,
    events: readonly { userId: string }[],
  ): Promise<readonly string[]> {
    const batches: (typeof events)[] = [];
    for (let i = 0; i < events.length; i += entriesPerCall) batches.push(events.slice(i, i + entriesPerCall));
    const undelivered = await Promise.all(batches.map((batch) => this.publishBatch(detailType, batch)));
    return undelivered.flat();
  }

  private async publishBatch(detailType: string, batch: readonly { userId: string }[]): Promise<string[]> {
    let pending = [...batch];
    for (let attempt = 1; attempt <= attempts && pending.length > 0; attempt += 1) {
      if (attempt > 1) await this.sleep(baseBackoffMs * 2 ** (attempt - 2) * (0.5 + Math.random()));
      const entries: PutEventsRequestEntry[] = pending.map((event) => ({
        EventBusName: this.eventBusName,
        Source: eventSource,
        DetailType: detailType,
        Detail: JSON.stringify(event),
      }));
      try {
        const result = await this.client.send(new PutEventsCommand({ Entries: entries }));
        // Result entries line up with request entries; a failed one carries an ErrorCode.
        pending = pending.filter(
          (_, i) => result.Entries?.[i]?.ErrorCode !== undefined || !result.Entries?.[i],
        );
      } catch {
        // The SDK already retried the call: every entry of the batch is undelivered.
        break;
      }
    }
    return pending.map((event) => event.userId);
  }
}
