import {
  InvalidInvocationError,
  notBoolean,
  type PayloadSpec,
  parseWorkerInvocation,
  type WorkerInvocation,
} from '../periodic-worker/invocation';
import { maxOperatorNameLength, oneLineProblem } from '../shared/one-line';
import type { CheckerPayload } from './check-passive-users';

export { InvalidInvocationError };

/**
 * The checker's manual payload beyond the kit's `dryRun`: `overrideBreaker` (an operator's approval) and who
 * approves. A scheduled event never carries either: the kit parses it as `{}`.
 */
export const checkerPayload: PayloadSpec<CheckerPayload> = {
  fields: ['overrideBreaker', 'approvedBy'],
  parse(fields) {
    const { overrideBreaker, approvedBy } = fields;
    if (overrideBreaker !== undefined && typeof overrideBreaker !== 'boolean') {
      throw notBoolean('overrideBreaker', overrideBreaker);
    }
    if (approvedBy !== undefined) {
      if (typeof approvedBy !== 'string') {
        throw new InvalidInvocationError(
          `Payload field "approvedBy" must be a string (who approves), got ${JSON.stringify(approvedBy)}`,
        );
      }
      // The same rule as the CLI's --by and --approved-by: status prints it on a line of its own.
      const problem = oneLineProblem(approvedBy, maxOperatorNameLength);
      if (problem !== undefined) throw new InvalidInvocationError(`Payload field "approvedBy" ${problem}`);
      if (overrideBreaker !== true) {
        throw new InvalidInvocationError('Payload field "approvedBy" goes with "overrideBreaker": true');
      }
    }
    return { overrideBreaker: overrideBreaker === true, approvedBy };
  },
};

export interface Invocation
  extends Pick<WorkerInvocation<CheckerPayload>, 'trigger' | 'dryRun'>,
    CheckerPayload {}

/**
 * Two kinds of event reach the function: EventBridge's scheduled event (never a dry run, never an override:
 * only an operator asks for those) and a manual payload such as `{"dryRun": true}` or `{}`.
 */
export function parseInvocation(event: unknown): Invocation {
  const { trigger, dryRun, payload } = parseWorkerInvocation(event, checkerPayload);
  return { trigger, dryRun, ...payload };
}
