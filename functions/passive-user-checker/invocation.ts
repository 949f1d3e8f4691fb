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
}

const manualFlags = ['dryRun', 'overrideBreaker'] as const;

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
    if (!(manualFlags as readonly string[]).includes(key)) {
      throw new InvalidInvocationError(
        `Unknown payload field "${key}": a manual invocation accepts only ${manualFlags.join(', ')}`,
      );
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
  };
}
