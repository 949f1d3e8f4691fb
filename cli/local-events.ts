/**
 * Where a local run's domain events go. A shell often has EVENT_BUS_NAME exported (from the stack's outputs,
 * say): a local run must not announce its passivations on that bus unless the operator says so.
 */
import type { DomainEvents } from '../functions/passive-user-checker/ports';
import { envNames } from '../functions/shared/config';
import { eventDetailTypes } from '../functions/shared/event-publisher';

/** Prints each event on one line, as `npm start` does, and reports every one delivered. */
export function printedEvents(print: (line: string) => void): DomainEvents {
  return {
    async publishPassivated(events) {
      for (const event of events)
        print(`  event ${eventDetailTypes.userPassivated} ${JSON.stringify(event)}`);
      return [];
    },
    async publishInactivityWarnings(events) {
      for (const event of events) {
        print(`  event ${eventDetailTypes.userInactivityWarning} ${JSON.stringify(event)}`);
      }
      return [];
    },
  };
}

/**
 * The publisher a local run uses: the handler's own (`wired`, built from EVENT_BUS_NAME) only with
 * `--publish-events`; otherwise printed events, said once. No bus configured: no events, as deployed.
 */
export function localRunEvents(
  wired: DomainEvents | undefined,
  eventBusName: string | undefined,
  publish: boolean,
  say: (line: string) => void,
): DomainEvents | undefined {
  if (wired === undefined || eventBusName === undefined) return undefined;
  if (publish) {
    say(`--publish-events: events published to ${eventBusName}`);
    return wired;
  }
  say(
    `${envNames.eventBusName} (${eventBusName}) is ignored: a local run prints its events here instead of ` +
      `publishing them, so subscribers of ${eventBusName} hear nothing of this run; --publish-events publishes them`,
  );
  return printedEvents(say);
}
