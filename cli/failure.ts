/**
 * The failures a newcomer meets first, each turned into one line that says what to do: an endpoint nothing
 * answers on, a DynamoDB that cannot be reached, no region. Anything else keeps its own message.
 */

/** Socket errors that mean "nothing answered there", from Node's net and dns modules. */
const unreachableCodes = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'ETIMEDOUT',
]);

/** The socket error code in the error, its causes, an AggregateError's errors or (wrapped) its message. */
function unreachableCode(error: unknown, depth = 0): string | undefined {
  if (!(error instanceof Error) || depth > 5) return undefined;
  const code = 'code' in error ? String(error.code) : undefined;
  if (code !== undefined && unreachableCodes.has(code)) return code;
  const nested = [error.cause, ...(error instanceof AggregateError ? error.errors : [])];
  for (const inner of nested) {
    const found = unreachableCode(inner, depth + 1);
    if (found) return found;
  }
  // Some commands wrap the SDK's error into their own message (the backfill's table identity).
  return error.message.match(/\bE[A-Z_]+\b/g)?.find((word) => unreachableCodes.has(word));
}

/** The SDK's words when neither the client, AWS_REGION nor the profile gives a region. */
const isRegionMissing = (error: unknown): boolean =>
  error instanceof Error && /^Region is missing/.test(error.message);

/** The SDK's request handler gave up on an attempt: connected and no answer, or no connection, in time. */
const timeoutOf = (error: unknown): string | undefined =>
  error instanceof Error && error.name === 'TimeoutError'
    ? (error.message.match(/(\d+) ms/)?.[1] ?? '?')
    : undefined;

/** One line saying what to do, or undefined when the error is none of the above. */
export function failureHint(error: unknown, endpoint: string | undefined): string | undefined {
  const timeoutMs = timeoutOf(error);
  if (timeoutMs !== undefined) {
    return (
      `no answer from ${endpoint ?? 'DynamoDB'} within ${timeoutMs} ms, on every attempt (REQUEST_TIMEOUT_MS ` +
      'limits each one): a hung connection or an overloaded endpoint; check the network and the endpoint'
    );
  }
  if (isRegionMissing(error)) {
    return (
      'no AWS region: export AWS_REGION=<the stack’s region> for the deployed tables, or give --endpoint for a ' +
      'local engine (npm run local:engine prints the lines to export)'
    );
  }
  const code = unreachableCode(error);
  if (code === undefined) return undefined;
  if (endpoint !== undefined) {
    return (
      `nothing answers at ${endpoint} (${code}): start a local engine with npm run local:engine and export the ` +
      'lines it prints, or correct --endpoint / AWS_ENDPOINT_URL_DYNAMODB'
    );
  }
  return (
    `cannot reach DynamoDB (${code}): check the network and AWS_REGION, or give --endpoint for a local engine ` +
    '(npm run local:engine)'
  );
}

/** The endpoint a command line names (`--endpoint URL` or `--endpoint=URL`), else AWS_ENDPOINT_URL_DYNAMODB. */
export function endpointOf(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  const at = args.indexOf('--endpoint');
  if (at !== -1 && args[at + 1] !== undefined) return args[at + 1];
  const inline = args.find((arg) => arg.startsWith('--endpoint='));
  if (inline !== undefined) return inline.slice('--endpoint='.length);
  return env.AWS_ENDPOINT_URL_DYNAMODB || undefined;
}
