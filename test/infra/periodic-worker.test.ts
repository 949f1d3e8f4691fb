import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Alarm, Dashboard } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Schedule } from 'aws-cdk-lib/aws-events';
import { Code } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import {
  PeriodicWorker,
  type PeriodicWorkerProps,
  PeriodicWorkerPropsError,
} from '../../infra/constructs/periodic-worker';
import { appWithoutBundling, asList, identityStatements } from './support';

const businessHours = 'cron(0/5 8-17 ? * MON-FRI *)';

const inlineCode = () => Code.fromInline('exports.handler = async () => ({});');

function lockTableStack() {
  const stack = new Stack(appWithoutBundling(), 'Workers');
  const lockTable = new Table(stack, 'Locks', {
    partitionKey: { name: 'lockName', type: AttributeType.STRING },
    billingMode: BillingMode.PAY_PER_REQUEST,
  });
  return { stack, lockTable };
}

/** One worker on a business-hours cron, prebuilt code (bundling is not under test). */
function workerStack(props: Partial<PeriodicWorkerProps> = {}) {
  const { stack, lockTable } = lockTableStack();
  const worker = new PeriodicWorker(stack, 'Purge', {
    code: inlineCode(),
    workerName: 'purge-expired-sessions',
    schedule: Schedule.expression(businessHours),
    timeout: Duration.minutes(1),
    lockTable,
    ...props,
  });
  return { stack, lockTable, worker, template: () => Template.fromStack(stack) };
}

const alarmsOn = (template: Template, metricName: string) =>
  Object.values(
    template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: metricName } }),
  ).map((alarm) => (alarm as { Properties: Record<string, unknown> }).Properties);

describe('PeriodicWorker: schedule validation', () => {
  it('rejects a cron whose shortest gap is shorter than timeout + lease, naming that gap', () => {
    const attempt = () => workerStack({ timeout: Duration.minutes(3) });

    expect(attempt).toThrow(PeriodicWorkerPropsError);
    expect(attempt).toThrow(
      /timeout must be whole seconds from 40 to 134 with schedule cron\(0\/5 8-17 \? \* MON-FRI \*\): .*the 300 s period \(the shortest interval between two runs of this cron\).*got 180 s/,
    );
  });

  it('accepts on a daily cron a timeout no frequent schedule could take, with the lease 30 s longer', () => {
    const { template } = workerStack({
      schedule: Schedule.cron({ minute: '0', hour: '6' }),
      timeout: Duration.minutes(15),
    });

    template().hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 900,
      Environment: { Variables: Match.objectLike({ LEASE_SECONDS: '930' }) },
    });
  });

  it('refuses a weekly schedule: no alarm within CloudWatch’s 7 days can tell a missed run from its gap', () => {
    expect(() => workerStack({ schedule: Schedule.expression('cron(30 2 ? * SUN *)') })).toThrow(
      /leaves up to 7 days between two runs: .*at most 6 days/,
    );
  });

  it('refuses an expression it cannot analyse, saying why', () => {
    expect(() => workerStack({ schedule: Schedule.expression('cron(0 6 * * * *)') })).toThrow(
      /exactly one of day-of-month and day-of-week must be \?/,
    );
  });

  it('lists every bad prop in one error', () => {
    const attempt = () =>
      workerStack({
        workerName: 'purge sessions!',
        entry: 'functions/purge/handler.ts',
        memorySize: 64,
        environment: { LOCK_NAME: 'other' },
      });

    expect(attempt).toThrow(/workerName must be 1-100 of A-Z a-z 0-9 \. _ -, got "purge sessions!"/);
    expect(attempt).toThrow(/give exactly one of entry .* and code/);
    expect(attempt).toThrow(/memorySize must be an integer from 128 to 10240, got 64/);
    expect(attempt).toThrow(/environment must not set LOCK_NAME/);
  });
});

describe('PeriodicWorker: function and role', () => {
  it("sets the kit's variables beside the job's own, and names its metrics after the worker", () => {
    const { template } = workerStack({ environment: { SESSIONS_TABLE: 'sessions' }, lockName: 'purge-eu' });

    template().hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Environment: {
        Variables: {
          LOCK_TABLE_NAME: { Ref: Match.stringLikeRegexp('^Locks') },
          LOCK_NAME: 'purge-eu',
          LEASE_SECONDS: '90',
          SAFETY_MARGIN_MS: '30000',
          DRY_RUN: 'false',
          SESSIONS_TABLE: 'sessions',
          POWERTOOLS_SERVICE_NAME: 'purge-expired-sessions',
          POWERTOOLS_METRICS_NAMESPACE: 'PeriodicWorkers/Workers',
          POWERTOOLS_LOG_LEVEL: 'INFO',
          NODE_OPTIONS: '--enable-source-maps',
        },
      },
    });
  });

  it('names itself, its lock, its schedule and its lock table in the function metadata the dev runner reads', () => {
    const { template } = workerStack({ lockName: 'purge-eu' });

    const functions = template().findResources('AWS::Lambda::Function');
    expect(Object.values(functions).map((fn) => (fn as { Metadata?: unknown }).Metadata)).toEqual([
      expect.objectContaining({
        PeriodicWorker: {
          workerName: 'purge-expired-sessions',
          lockName: 'purge-eu',
          schedule: businessHours,
          periodSeconds: 300,
          lockTable: { Ref: expect.stringMatching(/^Locks/) },
        },
      }),
    ]);
  });

  it('may touch only its own lock item and its own history slots in the lock table', () => {
    const { template } = workerStack();
    const statements = identityStatements(template());
    const lockTableArn = { 'Fn::GetAtt': [expect.stringMatching(/^Locks/), 'Arn'] };

    expect(statements.find((statement) => statement.Sid === 'HoldLeaseLock')).toEqual({
      Sid: 'HoldLeaseLock',
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      Resource: lockTableArn,
      Condition: {
        'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['purge-expired-sessions'] },
        Null: { 'dynamodb:LeadingKeys': 'false' },
      },
    });
    expect(statements.find((statement) => statement.Sid === 'RecordRunHistory')).toEqual({
      Sid: 'RecordRunHistory',
      Effect: 'Allow',
      Action: 'dynamodb:PutItem',
      Resource: lockTableArn,
      Condition: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['purge-expired-sessions#run#*'] },
        Null: { 'dynamodb:LeadingKeys': 'false' },
      },
    });
    const dynamoActions = statements
      .flatMap((statement) => asList(statement.Action))
      .filter((action) => action.startsWith('dynamodb:'));
    expect(dynamoActions.sort()).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
  });

  it('retries a tick for at most its shortest interval, then dead-letters it', () => {
    const { template } = workerStack();

    template().hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: businessHours,
      State: 'ENABLED',
      Targets: [
        Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 } }),
      ],
    });
    template().hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 300,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
  });
});

describe('PeriodicWorker: alarms', () => {
  it('sizes the missed-runs alarm from a weekday cron’s weekend, so Saturday and Sunday stay quiet', () => {
    const { template } = workerStack();

    expect(alarmsOn(template(), 'RunCompleted')).toEqual([
      expect.objectContaining({
        Namespace: 'PeriodicWorkers/Workers',
        Dimensions: [{ Name: 'service', Value: 'purge-expired-sessions' }],
        Period: 86_400,
        EvaluationPeriods: 5,
        DatapointsToAlarm: 5,
        TreatMissingData: 'breaching',
      }),
    ]);
  });

  it('calls the lock stuck when every run of a period found it held, since a cron period holds many runs', () => {
    const { template } = workerStack();

    expect(alarmsOn(template(), 'LockContended')).toEqual([
      expect.objectContaining({
        Statistic: 'Minimum',
        Period: 86_400,
        EvaluationPeriods: 4,
        DatapointsToAlarm: 3,
      }),
    ]);
  });

  it('judges incomplete runs in periods of the longest gap, so every period holds a run', () => {
    const { template } = workerStack();

    expect(alarmsOn(template(), 'RunComplete')).toEqual([
      expect.objectContaining({ Statistic: 'Maximum', Period: 62 * 3600 + 300, EvaluationPeriods: 1 }),
    ]);
  });

  it("puts a job's own alarm on its section and gives it the alarm action", () => {
    const { stack, lockTable } = lockTableStack();
    const worker = new PeriodicWorker(stack, 'Purge', {
      code: inlineCode(),
      workerName: 'purge-expired-sessions',
      schedule: Schedule.rate(Duration.minutes(10)),
      lockTable,
      alarmAction: new SnsAction(new Topic(stack, 'Pager')),
    });

    worker.monitoring.addAlarm(
      new Alarm(worker.monitoring, 'SessionsLeftAlarm', {
        metric: worker.monitoring.metric('SessionsLeft', { statistic: 'Maximum' }),
        threshold: 1000,
        evaluationPeriods: 1,
      }),
    );

    const template = Template.fromStack(stack);
    const body = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]);
    const alarms = template.findResources('AWS::CloudWatch::Alarm');
    expect(Object.keys(alarms)).toHaveLength(7);
    for (const [id, alarm] of Object.entries(alarms)) {
      expect(body).toContain(`"${id}"`);
      expect(
        JSON.stringify((alarm as { Properties: { AlarmActions?: unknown[] } }).Properties.AlarmActions),
      ).toContain('Pager');
    }
  });
});

describe('PeriodicWorker: dashboard', () => {
  it('shares one dashboard between workers, each with its own section', () => {
    const { stack, lockTable } = lockTableStack();
    const dashboard = new Dashboard(stack, 'Shared');
    for (const name of ['digest', 'reconcile']) {
      new PeriodicWorker(stack, name, {
        code: inlineCode(),
        workerName: name,
        schedule: Schedule.rate(Duration.hours(1)),
        lockTable,
        dashboard,
      });
    }

    const dashboards = Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard');
    expect(Object.keys(dashboards)).toEqual([expect.stringMatching(/^Shared/)]);
    const body = JSON.stringify(Object.values(dashboards)[0]);
    expect(body).toContain('service `digest`');
    expect(body).toContain('service `reconcile`');
  });
});
