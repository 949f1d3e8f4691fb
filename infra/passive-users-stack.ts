import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { LeaseLockTable } from './constructs/lease-lock-table';
import { PassiveUserChecker, type PassiveUserCheckerProps } from './constructs/passive-user-checker';
import { UsersTable, type UsersTableProps } from './constructs/users-table';

export interface PassiveUsersStackProps extends StackProps {
  /**
   * The users table: created by the stack, or an existing one adopted by name (see `UsersTableProps`).
   * @default - a new users table
   */
  readonly usersTable?: UsersTableProps;
  /**
   * Settings of the job itself, passed through to `PassiveUserChecker`.
   * @default - the construct's defaults
   */
  readonly checker?: Omit<PassiveUserCheckerProps, 'usersTable' | 'lockTable'>;
}

/** The users table, the lock table and the scheduled job with its monitoring. */
export class PassiveUsersStack extends Stack {
  readonly usersTable: UsersTable;
  readonly lockTable: LeaseLockTable;
  readonly checker: PassiveUserChecker;

  constructor(scope: Construct, id: string, props: PassiveUsersStackProps = {}) {
    super(scope, id, props);

    this.usersTable = new UsersTable(this, 'Users', props.usersTable);
    this.lockTable = new LeaseLockTable(this, 'LeaseLock');
    this.checker = new PassiveUserChecker(this, 'PassiveUserChecker', {
      ...props.checker,
      usersTable: this.usersTable.table,
      lockTable: this.lockTable.table,
    });

    new CfnOutput(this, 'UsersTableName', { value: this.usersTable.table.tableName });
    new CfnOutput(this, 'LockTableName', { value: this.lockTable.table.tableName });
    new CfnOutput(this, 'FunctionName', { value: this.checker.function.functionName });
    new CfnOutput(this, 'LogGroupName', { value: this.checker.logGroup.logGroupName });
    new CfnOutput(this, 'DashboardUrl', { value: this.checker.monitoring.dashboardUrl });
    new CfnOutput(this, 'DeadLetterQueueUrl', {
      value: this.checker.deadLetterQueue.queueUrl,
      description: 'Scheduled ticks EventBridge could not deliver to the function',
    });
    new CfnOutput(this, 'OnFailureQueueUrl', {
      value: this.checker.onFailureQueue.queueUrl,
      description: 'Invocations that failed after retries or expired',
    });
  }
}
