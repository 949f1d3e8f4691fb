import type { Trigger } from './ports';

/** A payload the worker cannot act on: rejected before anything is read or written. */
export class InvalidInvocationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidInvocationError';
  }
}

/** How the job reads the fields of a manual payload beyond `dryRun`. */
export interface PayloadSpec<P> {
  /** The fields the job accepts; any other field is refused, naming it. */
  readonly fields: readonly string[];
  /** Validates the fields (throw `InvalidInvocationError`); called with `{}` for a scheduled tick. */
  readonly parse: (fields: Readonly<Record<string, unknown>>) => P;
}

export interface WorkerInvocation<P> {
  readonly trigger: Trigger;
  readonly dryRun: boolean;
  readonly payload: P;
  /** The payload's job fields as sent (a partitioned tick hands them to its partitions, which parse them again). */
  readonly fields: Readonly<Record<string, unknown>>;
}

/**
 * Two kinds of event reach a worker: EventBridge's scheduled event (never a dry run: only an operator asks for
 * one) and a manual payload such as `{"dryRun": true}`, `{}` or nothing at all.
 */
export function parseWorkerInvocation<P>(event: unknown, spec: PayloadSpec<P>): WorkerInvocation<P> {
  if (event === undefined || event === null)
    return { trigger: 'manual', dryRun: false, payload: spec.parse({}), fields: {} };
  if (typeof event !== 'object' || Array.isArray(event)) {
    throw new InvalidInvocationError('The payload must be a JSON object such as {"dryRun": true}');
  }
  const fields = event as Record<string, unknown>;
  if (fields.source === 'aws.events' && fields['detail-type'] === 'Scheduled Event') {
    return { trigger: 'schedule', dryRun: false, payload: spec.parse({}), fields: {} };
  }
  const accepted = ['dryRun', ...spec.fields];
  const jobFields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (!accepted.includes(key)) {
      throw new InvalidInvocationError(
        `Unknown payload field "${key}": a manual invocation accepts only ${accepted.join(', ')}`,
      );
    }
    if (key === 'dryRun') {
      if (typeof value !== 'boolean') throw notBoolean(key, value);
    } else {
      jobFields[key] = value;
    }
  }
  return {
    trigger: 'manual',
    dryRun: fields.dryRun === true,
    payload: spec.parse(jobFields),
    fields: jobFields,
  };
}

/** The error for a payload flag that is not a boolean; jobs use it for their own flags. */
export function notBoolean(field: string, value: unknown): InvalidInvocationError {
  return new InvalidInvocationError(
    `Payload field "${field}" must be true or false, got ${JSON.stringify(value)}`,
  );
}
