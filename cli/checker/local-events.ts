/**
 * Where a local run's domain events go. A shell often has EVENT_BUS_NAME exported (from the stack's outputs,
 * say): a local run must not announce its passivations on that bus unless the operator says so.
 */

import { eventDetailTypes } from '../../functions/passive-user-checker/event-publisher';
import type { CheckerDeps } from '../../functions/passive-user-checker/handler';
import type { DomainEvents } from '../../functions/passive-user-checker/ports';
import { envNames } from '../../functions/shared/config';

/** Prints each event on one line, and reports every one delivered. */
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
 * The events (and the settings that depend on them) of a local run: the handler's own publisher, built from
 * EVENT_BUS_NAME, only with `--publish-events`. Otherwise events are printed, said once, and inactivity
 * warnings are off: a warning's mark on the item says the user was told, which a printed event does not do. No
 * bus configured: no events, as deployed.
 */
export function localRunEvents(
  deps: Pick<CheckerDeps, 'config' | 'events'>,
  publish: boolean,
  say: (line: string) => void,
): Pick<CheckerDeps, 'config' | 'events'> {
  const bus = deps.config.eventBusName;
  if (deps.events === undefined || bus === undefined) return { config: deps.config, events: undefined };
  if (publish) {
    say(`--publish-events: events published to ${bus}`);
    return { config: deps.config, events: deps.events };
  }
  say(
    `${envNames.eventBusName} (${bus}) is ignored: a local run prints its events here instead of publishing ` +
      `them, so subscribers of ${bus} hear nothing of this run` +
      `${deps.config.warningDays > 0 ? ', and it sends (and marks) no inactivity warning' : ''}; ` +
      '--publish-events publishes them',
  );
  return { config: { ...deps.config, warningDays: 0 }, events: printedEvents(say) };
}
