import type { Template } from 'aws-cdk-lib/assertions';
import { Schedule } from 'aws-cdk-lib/aws-events';
import { describe, expect, it } from 'vitest';
import { ActivityReportPropsError } from '../../infra/constructs/activity-report';
import {
  asList,
  checkerId,
  identityStatements,
  ofWorker,
  reportId,
  synthStack,
  tunedCheckerProps,
} from './support';

const { template } = synthStack();

type Resource = { readonly Properties: Record<string, unknown> };
const resourcesOf = (t: Template, type: string, workerId?: string): Record<string, Resource> => {
  const all = t.findResources(type) as Record<string, Resource>;
  return workerId === undefined ? all : ofWorker(all, workerId);
};
const functionOf = (t: Template, workerId: string) => {
  const [entry] = Object.entries(resourcesOf(t, 'AWS::Lambda::Function', workerId));
  if (entry === undefined) throw new Error(`no function of ${workerId}`);
  return {
    logicalId: entry[0],
    properties: entry[1].Properties as { Environment: { Variables: Record<string, unknown> } },
  };
};

describe('the default stack’s workers', () => {
  it('runs two scheduled workers, each with its own function and rule, on one lock table', () => {
    const rules = Object.values(resourcesOf(template, 'AWS::Events::Rule')).map((rule) => rule.Properties);
    const targets = rules.map(
      (rule) => (rule.Targets as [{ Arn: { 'Fn::GetAtt': [string, string] } }])[0].Arn['Fn::GetAtt'][0],
    );
    const lockTables = [checkerId, reportId].map(
      (workerId) => functionOf(template, workerId).properties.Environment.Variables.LOCK_TABLE_NAME,
    );

    expect(rules.map((rule) => rule.ScheduleExpression).sort()).toEqual([
      'cron(0 6 * * ? *)',
      'rate(10 minutes)',
    ]);
    expect(targets.sort()).toEqual(
      [functionOf(template, reportId).logicalId, functionOf(template, checkerId).logicalId].sort(),
    );
    expect(lockTables[0]).toEqual({ Ref: expect.stringMatching(/^LeaseLockTable/) });
    expect(lockTables[1]).toEqual(lockTables[0]);
    template.resourceCountIs('AWS::DynamoDB::Table', 2);
  });

  it('gives each worker its own missed-runs alarm on its own service dimension', () => {
    const missedRuns = Object.values(
      template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'RunCompleted' } }),
    ).map((alarm) => (alarm as Resource).Properties);

    const dimensions = missedRuns.map((alarm) => JSON.stringify(alarm.Dimensions)).sort();

    expect(dimensions).toEqual([
      JSON.stringify([{ Name: 'service', Value: 'activity-report' }]),
      JSON.stringify([{ Name: 'service', Value: 'passive-user-checker' }]),
    ]);
    for (const alarm of missedRuns) expect(alarm).toMatchObject({ Namespace: 'PassiveUserChecker' });
  });

  it('gives each worker its own errors, queue, lock-stuck and incomplete-runs alarms', () => {
    for (const workerId of [checkerId, reportId]) {
      const alarms = Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm', workerId)).map(
        (alarm) => alarm.Properties.MetricName,
      );
      const queues = Object.keys(resourcesOf(template, 'AWS::SQS::Queue', workerId));

      expect(alarms).toEqual(
        expect.arrayContaining([
          'Errors',
          'ApproximateNumberOfMessagesVisible',
          'RunCompleted',
          'LockContended',
          'RunComplete',
        ]),
      );
      expect(alarms.filter((name) => name === 'ApproximateNumberOfMessagesVisible')).toHaveLength(2);
      expect(queues).toHaveLength(2);
    }
  });

  it("sizes the daily report's missed-runs alarm from its cron: three day-long periods, silence breaching", () => {
    const [alarm] = Object.values(
      ofWorker(
        template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'RunCompleted' } }),
        reportId,
      ),
    ) as Resource[];

    expect(alarm?.Properties).toMatchObject({
      Dimensions: [{ Name: 'service', Value: 'activity-report' }],
      Statistic: 'Sum',
      Period: 86_400,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
      ActionsEnabled: true,
    });
  });

  it('judges the report’s incomplete runs and a stuck lock in day-long periods too', () => {
    const alarm = (metricName: string) =>
      (
        Object.values(
          ofWorker(
            template.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: metricName } }),
            reportId,
          ),
        ) as Resource[]
      )[0]?.Properties;

    expect(alarm('RunComplete')).toMatchObject({
      Statistic: 'Maximum',
      Period: 86_400,
      EvaluationPeriods: 1,
    });
    expect(alarm('LockContended')).toMatchObject({
      Period: 86_400,
      EvaluationPeriods: 4,
      DatapointsToAlarm: 3,
    });
  });

  it('puts both workers on the one dashboard, the report with its user counts', () => {
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboards[0]);

    expect(dashboards).toHaveLength(1);
    for (const metric of ['ActiveUsers', 'UsersNearCutoff', 'StaleUsers'])
      expect(body).toContain(`\\"${metric}\\"`);
    expect(body).toContain('service `activity-report`');
    expect(body).toContain('service `passive-user-checker`');
    for (const id of Object.keys(template.findResources('AWS::CloudWatch::Alarm')))
      expect(body).toContain(`"${id}"`);
  });
});

describe('the activity report', () => {
  it('reads the stale index with Query only and may not touch any user item', () => {
    const statements = identityStatements(template, reportId);
    const onUsersTable = statements.filter((statement) =>
      JSON.stringify(statement.Resource).includes('UsersTable'),
    );

    expect(onUsersTable).toEqual([
      {
        Sid: 'CountStaleIndex',
        Effect: 'Allow',
        Action: 'dynamodb:Query',
        Resource: {
          'Fn::Join': [
            '',
            [
              expect.objectContaining({ 'Fn::GetAtt': [expect.stringMatching(/^UsersTable/), 'Arn'] }),
              '/index/byActiveShardAndLastLogin',
            ],
          ],
        },
      },
    ]);
    expect(statements.flatMap((statement) => asList(statement.Action)).sort()).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:SendMessage',
    ]);
  });

  it('touches only its own lock item and history slots in the shared lock table', () => {
    const bySid = (sid: string) =>
      identityStatements(template, reportId).find((statement) => statement.Sid === sid);

    expect(bySid('HoldLeaseLock')).toMatchObject({
      Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^LeaseLockTable/), 'Arn'] },
      Condition: {
        'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['activity-report'] },
        Null: { 'dynamodb:LeadingKeys': 'false' },
      },
    });
    expect(bySid('RecordRunHistory')).toMatchObject({
      Action: 'dynamodb:PutItem',
      Condition: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['activity-report#run#*'] },
        Null: { 'dynamodb:LeadingKeys': 'false' },
      },
    });
  });

  it("gets the users table, the checker's cutoff and shards, and its near-cutoff window", () => {
    expect(functionOf(template, reportId).properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: 300,
      Environment: {
        Variables: {
          USERS_TABLE_NAME: { Ref: expect.stringMatching(/^UsersTable/) },
          ACTIVE_SHARDS: '16',
          INACTIVE_DAYS: '30',
          REPORT_NEAR_DAYS: '7',
          LOCK_TABLE_NAME: { Ref: expect.stringMatching(/^LeaseLockTable/) },
          LOCK_NAME: 'activity-report',
          LEASE_SECONDS: '330',
          SAFETY_MARGIN_MS: '30000',
          DRY_RUN: 'false',
          POWERTOOLS_SERVICE_NAME: 'activity-report',
          POWERTOOLS_METRICS_NAMESPACE: 'PassiveUserChecker',
          POWERTOOLS_LOG_LEVEL: 'INFO',
          NODE_OPTIONS: '--enable-source-maps',
        },
      },
    });
  });

  it("follows the checker's inactivity cutoff, shards and metrics namespace", () => {
    const { template: tuned } = synthStack({ checker: tunedCheckerProps });

    expect(functionOf(tuned, reportId).properties.Environment.Variables).toMatchObject({
      INACTIVE_DAYS: '90',
      ACTIVE_SHARDS: '4',
      POWERTOOLS_METRICS_NAMESPACE: 'PassiveUserChecker/staging',
    });
  });

  it('names its function in the stack outputs', () => {
    template.hasOutput('ActivityReportFunctionName', {
      Value: { Ref: functionOf(template, reportId).logicalId },
    });
  });

  it('has its own kill switch, which leaves the checker running', () => {
    const { template: paused } = synthStack({ activityReport: { enabled: false } });
    const state = (workerId: string) =>
      Object.values(resourcesOf(paused, 'AWS::Events::Rule', workerId)).map((rule) => rule.Properties.State);

    expect(state(reportId)).toEqual(['DISABLED']);
    expect(state(checkerId)).toEqual(['ENABLED']);
  });

  it('is left out with activityReport: false', () => {
    const { template: single } = synthStack({ activityReport: false });

    single.resourceCountIs('AWS::Lambda::Function', 1);
    single.resourceCountIs('AWS::Events::Rule', 1);
    expect(Object.keys(single.findOutputs('*'))).not.toContain('ActivityReportFunctionName');
    single.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(10 minutes)' });
  });

  it('rejects a near-cutoff window as long as the inactivity period, with its own error class', () => {
    const attempt = () => synthStack({ activityReport: { inactiveDays: 30, reportNearDays: 30 } });

    expect(attempt).toThrow(ActivityReportPropsError);
    expect(attempt).toThrow(/reportNearDays must be less than inactiveDays \(30\), got 30/);
  });

  it('runs on a cron of its own, its missed-runs alarm sized from that cron’s longest gap', () => {
    const { template: weekdays } = synthStack({
      activityReport: { schedule: Schedule.expression('cron(0 7 ? * MON-FRI *)') },
    });
    const [alarm] = Object.values(
      ofWorker(
        weekdays.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'RunCompleted' } }),
        reportId,
      ),
    ) as Resource[];

    weekdays.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(0 7 ? * MON-FRI *)' });
    // The weekend is 3 days between Friday's and Monday's run: 3 day-long periods + 2 for missed runs.
    expect(alarm?.Properties).toMatchObject({ Period: 86_400, EvaluationPeriods: 5, DatapointsToAlarm: 5 });
  });
});
