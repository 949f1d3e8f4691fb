/**
 * The local stand-in for the Step Functions state machine that runs a partitioned worker's partitions: an HTTP
 * endpoint that answers `StartExecution` (the only call a worker makes; AWS_ENDPOINT_URL_SFN points the SDK at
 * it) and runs the execution's Map as the construct's state machine does: every partition name of the input is one
 * item `{ partition, tick }`, at most `maxConcurrency` at once, each handed to `invoke` (the dev runner and the
 * tests run the worker's handler in a process of its own); an item that fails does not stop the others, and the
 * execution ends FAILED when any did. A repeated start answers as Step Functions does: with the execution while it
 * is open and the input is the same, else ExecutionAlreadyExists. For local runs only: no retries, no history, no
 * other API.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One Map item, as the state machine hands it to the function. */
export interface PartitionItem {
  readonly partition: string;
  readonly tick: unknown;
}

/** What a state machine does locally: its Map's concurrency and how one item is invoked (rejects = failed). */
export interface LocalStateMachine {
  readonly maxConcurrency: number;
  readonly invoke: (item: PartitionItem) => Promise<void>;
}

export interface LocalExecution {
  readonly stateMachineArn: string;
  readonly name: string;
  readonly partitions: readonly string[];
  /** SUCCEEDED once every item returned, FAILED when any failed. */
  readonly done: Promise<'SUCCEEDED' | 'FAILED'>;
  /** True once `done` has settled: a repeated start then meets ExecutionAlreadyExists. */
  readonly closed: boolean;
}

export interface LocalPartitionEngine {
  /** For AWS_ENDPOINT_URL_SFN. */
  readonly endpoint: string;
  register(stateMachineArn: string, machine: LocalStateMachine): void;
  /** Every execution started, in order. */
  readonly executions: readonly LocalExecution[];
  stop(): Promise<void>;
}

export async function startLocalPartitionEngine(): Promise<LocalPartitionEngine> {
  const machines = new Map<string, LocalStateMachine>();
  const executions: (LocalExecution & { closed: boolean; readonly input: string })[] = [];
  const server = createServer((request, response) => {
    void handle(request, response);
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const answer = (status: number, body: Record<string, unknown>) => {
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(JSON.stringify(body));
    };
    const target = String(request.headers['x-amz-target'] ?? '');
    if (target !== 'AWSStepFunctions.StartExecution') {
      return answer(400, {
        __type: 'UnknownOperationException',
        message: `The stand-in serves no ${target}`,
      });
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, string>;
    const arn = body.stateMachineArn ?? '';
    const machine = machines.get(arn);
    if (!machine)
      return answer(400, { __type: 'StateMachineDoesNotExist', message: `No state machine ${arn}` });
    const name = body.name ?? `local-${executions.length + 1}`;
    const executionArn = `${arn.replace(':stateMachine:', ':execution:')}:${name}`;
    const inputText = body.input ?? '{}';
    const same = executions.find((e) => e.stateMachineArn === arn && e.name === name);
    if (same) {
      // Step Functions answers a repeated start of a Standard execution with the first one only while it is open
      // and the input is the same; else ExecutionAlreadyExists.
      if (same.closed || same.input !== inputText) {
        return answer(400, {
          __type: 'ExecutionAlreadyExists',
          message: `Execution Already Exists: '${executionArn}'`,
        });
      }
      return answer(200, { executionArn, startDate: Date.now() / 1000 });
    }
    const input = JSON.parse(inputText) as { tick?: unknown; partitions?: unknown };
    const partitions = Array.isArray(input.partitions) ? input.partitions.map(String) : [];
    const done = runMap(machine, partitions, input.tick);
    const execution = { stateMachineArn: arn, name, partitions, done, input: inputText, closed: false };
    void done.then(() => {
      execution.closed = true;
    });
    executions.push(execution);
    answer(200, { executionArn, startDate: Date.now() / 1000 });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    register: (arn, machine) => machines.set(arn, machine),
    executions,
    async stop() {
      await Promise.allSettled(executions.map((e) => e.done));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The Map: `maxConcurrency` workers take the items in order; a failed item is caught, the others go on. */
async function runMap(
  machine: LocalStateMachine,
  partitions: readonly string[],
  tick: unknown,
): Promise<'SUCCEEDED' | 'FAILED'> {
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (next < partitions.length) {
      const partition = partitions[next++] as string;
      await machine.invoke({ partition, tick }).catch(() => {
        failed = true;
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(machine.maxConcurrency, partitions.length) }, lane));
  return failed ? 'FAILED' : 'SUCCEEDED';
}
