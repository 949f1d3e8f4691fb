import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { type ClientSettings, httpHandler } from '../shared/clients';
import type { PartitionEngine, PartitionFanOut } from './partitions';

/**
 * The worker's state machine (the `PeriodicWorker` construct's, `PARTITIONS_STATE_MACHINE_ARN`) as the engine that
 * runs a tick's partitions. The endpoint is the SDK's own choice: `AWS_ENDPOINT_URL_SFN` points it at the local
 * stand-in (local/dev/partition-engine.ts).
 */
export class StepFunctionsPartitionEngine implements PartitionEngine {
  private readonly client: SFNClient;

  constructor(
    private readonly stateMachineArn: string,
    settings: ClientSettings,
  ) {
    this.client = new SFNClient({
      maxAttempts: settings.maxAttempts,
      retryMode: 'standard',
      requestHandler: httpHandler(settings),
    });
  }

  /**
   * A Standard execution's name is unique for 90 days. A start repeated with the same name and input answers with
   * the execution while it is open; once it has closed (or with another input) the answer is ExecutionAlreadyExists.
   * The name is this tick's own (its fencing token and run id), so that answer means the SDK's retry of a start
   * whose first answer was lost met the execution the first attempt started: started, not failed.
   */
  async startExecution(name: string, input: PartitionFanOut): Promise<void> {
    try {
      await this.client.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn,
          name,
          input: JSON.stringify(input),
        }),
      );
    } catch (error) {
      if (error instanceof ExecutionAlreadyExists) return;
      throw error;
    }
  }
}
