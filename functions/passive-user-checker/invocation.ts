/** A payload the handler cannot act on: rejected before anything is read or written. */
export class InvalidInvocationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidInvocationError';
  }
}

export interface Invocation {
  readonly trigger: 'schedule' | 'manual';
  readonly dryRun: boolean;
  readonly overrideBreaker: boolean;
  /** Who approves, recorded with the approval; only with `overrideBreaker`. */
  readonly approvedBy?: string | undefined;
}

const manualFlags = ['dryRun', 'overrideBreaker'] as const;
const manualFields = [...manualFlags, 'approvedBy'] as const;
const maxApprovedByLength = 200;

/**
 * Two kinds of event reach the function: EventBridge's scheduled event (never a dry run, never an override:
 * only an operator asks for those) and a manual payload such as `{"dryRun": true}` or `{}`.
 */
export function parseInvocation(event: unknown): Invocation {
  if (event === undefined || event === null)
    return { trigger: 'manual', dryRun: false, overrideBreaker: false };
  if (typeof event !== 'object' || Array.isArray(event)) {
    throw new InvalidInvocationError('The payload must be a JSON object such as {"dryRun": true}');
  }
  const fields = event as Record<string, unknown>;
  if (fields.source === 'aws.events' && fields['detail-type'] === 'Scheduled Event') {
    return { trigger: 'schedule', dryRun: false, overrideBreaker: false };
  }
  for (const [key, value] of Object.entries(fields)) {
    if (!(manualFields as readonly string[]).includes(key)) {
      throw new InvalidInvocationError(
        `Unknown payload field "${key}": a manual invocation accepts only ${manualFields.join(', ')}`,
      );
    }
    if (key === 'approvedBy') {
      if (typeof value !== 'string' || value.trim() === '' || value.length > maxApprovedByLength) {
        throw new InvalidInvocationError(
          `Payload field "approvedBy" must be a non-empty string of at most ${maxApprovedByLength} characters`,
        );
      }
      if (fields.overrideBreaker !== true) {
        throw new InvalidInvocationError('Payload field "approvedBy" goes with "overrideBreaker": true');
      }
      continue;
    }
    if (typeof value !== 'boolean') {
      throw new InvalidInvocationError(
        `Payload field "${key}" must be true or false, got ${JSON.stringify(value)}`,
      );
    }
  }
  return {
    trigger: 'manual',
    dryRun: fields.dryRun === true,
    overrideBreaker: fields.overrideBreaker === true,
    approvedBy: typeof fields.approvedBy === 'string' ? fields.approvedBy : undefined,
  };
}
