/**
 * Transient failures are worth another attempt on a later run: throttling, server errors, timeouts and dropped
 * connections. Anything else (access denied, missing table, validation) will fail the same way every time, so
 * it is systemic and must surface as an invocation error.
 */
const transientNames = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TransactionConflictException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

const transientCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

interface AwsErrorShape {
  name?: unknown;
  code?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

export function isTransientAwsError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const shape = error as AwsErrorShape;
  if (typeof shape.name === 'string' && transientNames.has(shape.name)) return true;
  if (typeof shape.code === 'string' && transientCodes.has(shape.code)) return true;
  if (shape.$retryable !== undefined) return true;
  const status = shape.$metadata?.httpStatusCode;
  return typeof status === 'number' && status >= 500;
}

export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A refused condition, told by the error's name rather than `instanceof`: code that the application bundles may
 * hold its own copy of `@aws-sdk/client-dynamodb`, whose exception class is then not this one.
 */
export function isConditionalCheckFailed(
  error: unknown,
): error is Error & { Item?: Record<string, unknown> } {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}
