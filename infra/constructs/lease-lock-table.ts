import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AttributeType, BillingMode, type ITable, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { lockTable } from '../../functions/periodic-worker/lock-table-schema';

/**
 * The lease-lock table, shared by every periodic worker: per worker its lock item, its run history
 * (`<lockName>#run#<k>`) and the job's own items (the checker's breaker state). Everything in it is disposable: an
 * empty table only means "nobody holds a lock and no run has been recorded yet", so it is destroyed with the stack
 * and has no point-in-time recovery.
 */
export class LeaseLockTable extends Construct {
  readonly table: ITable;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    const table = new Table(this, 'Table', {
      partitionKey: { name: lockTable.partitionKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: lockTable.ttlAttribute,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(table).acknowledge({
      id: 'AwsSolutions-DDB3',
      reason:
        'The lock table holds only short leases, run history and breaker state. Restoring an older copy would bring back ' +
        'expired leases; an empty table is a valid state (no holder, no recorded run), so there is nothing to recover.',
    });
    this.table = table;
  }
}
