import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Schedule } from 'aws-cdk-lib/aws-events';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import {
  defaultMetricsNamespace,
  metricNames,
  serviceName,
} from '../../functions/passive-user-checker/observability-names';
import { PassiveUsersStack } from '../../infra/passive-users-stack';
import { appWithoutBundling, checkerId, ofWorker, synthStack, tunedCheckerProps } from './support';

const { template } = synthStack();
const jobDimensions = [{ Name: 'service', Value: serviceName }];

/** The checker's one alarm on a metric (the report, the stack's second worker, has alarms of its own). */
function alarmOn(t: Template, metricName: string): Record<string, unknown> {
  const alarms = Object.values(
    ofWorker(
      t.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: metricName } }),
      checkerId,
    ),
  );
  expect(alarms).toHaveLength(1);
  return (alarms[0] as { Properties: Record<string, unknown> }).Properties;
}

describe('alarms', () => {
  it('treats a missing heartbeat over three schedule periods as a missed run', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: defaultMetricsNamespace,
      MetricName: metricNames.runCompleted,
      Dimensions: jobDimensions,
      Statistic: 'Sum',
      Period: 600,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
      ActionsEnabled: true,
    });
  });

  it('mutes the missed-runs alarm, and only that one, while the kill switch is off', () => {
    const { template: paused } = synthStack({ checker: { enabled: false } });

    const missedRuns = alarmOn(paused, metricNames.runCompleted);
    expect(missedRuns.ActionsEnabled).toBe(false);
    expect(missedRuns.AlarmDescription).toMatch(/enabled: false/);
    // Absent means enabled in CloudFormation.
    expect(alarmOn(paused, 'Errors').ActionsEnabled).toBeUndefined();
    expect(alarmOn(paused, metricNames.breakerTripped).ActionsEnabled).toBeUndefined();
  });

  it('watches the heartbeat in the namespace the function is told to use, once per schedule period', () => {
    const { template: custom } = synthStack({ checker: tunedCheckerProps });

    custom.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ POWERTOOLS_METRICS_NAMESPACE: 'PassiveUserChecker/staging' }),
      },
    });
    expect(alarmOn(custom, metricNames.runCompleted)).toMatchObject({
      Namespace: 'PassiveUserChecker/staging',
      Period: 3600,
      EvaluationPeriods: 3,
    });
  });

  it('alarms on any function error, timeouts included', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('Function') } }],
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms as soon as either the dead-letter or the on-failure queue holds a message', () => {
    const queueAlarms = Object.values(
      ofWorker(
        template.findResources('AWS::CloudWatch::Alarm', {
          Properties: { MetricName: 'ApproximateNumberOfMessagesVisible' },
        }),
        checkerId,
      ),
    ).map((alarm) => (alarm as { Properties: Record<string, unknown> }).Properties);
    const queueNames = Object.keys(ofWorker(template.findResources('AWS::SQS::Queue'), checkerId));

    expect(queueAlarms).toHaveLength(2);
    for (const alarm of queueAlarms) {
      expect(alarm).toMatchObject({
        Namespace: 'AWS/SQS',
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
        TreatMissingData: 'notBreaching',
      });
    }
    const watched = queueAlarms.map(
      (alarm) =>
        (alarm.Dimensions as [{ Value: { 'Fn::GetAtt': [string, string] } }])[0].Value['Fn::GetAtt'][0],
    );
    expect(watched.sort()).toEqual(queueNames.sort());
  });

  it('alarms when runs keep finding the lock held, over three periods of four so an empty period does not reset it', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: defaultMetricsNamespace,
      MetricName: metricNames.lockContended,
      Dimensions: jobDimensions,
      Statistic: 'Sum',
      Period: 600,
      EvaluationPeriods: 4,
      DatapointsToAlarm: 3,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms when no run has finished its work for 24 hours of hourly periods, leaving periods without runs to MissedRuns', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: defaultMetricsNamespace,
      MetricName: metricNames.runComplete,
      Dimensions: jobDimensions,
      Statistic: 'Maximum',
      Period: 3600,
      EvaluationPeriods: 24,
      DatapointsToAlarm: 24,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  it('counts the incomplete-runs window in periods of the given length', () => {
    const { template: custom } = synthStack({ checker: tunedCheckerProps });

    expect(alarmOn(custom, metricNames.runComplete)).toMatchObject({
      Namespace: 'PassiveUserChecker/staging',
      Period: 3600,
      EvaluationPeriods: 48,
      DatapointsToAlarm: 48,
      AlarmDescription: expect.stringContaining('none finished its work in the last 48 hours'),
    });
  });

  it('judges a daily job one run per period, so every period of the window holds a run', () => {
    const { template: daily } = synthStack({
      checker: { schedule: Schedule.rate(Duration.days(1)), incompleteRunsWindow: Duration.days(3) },
    });

    expect(alarmOn(daily, metricNames.runComplete)).toMatchObject({
      Period: 86_400,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms when the mass-passivation breaker trips', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: defaultMetricsNamespace,
      MetricName: metricNames.breakerTripped,
      Dimensions: jobDimensions,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  it('tells the operator what each alarm means and what to do', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));

    expect(alarms.length).toBeGreaterThanOrEqual(5);
    for (const alarm of alarms) {
      const description = (alarm as { Properties: { AlarmDescription: unknown } }).Properties
        .AlarmDescription;
      expect(description).toEqual(expect.stringMatching(/What to do: .{40,}/));
    }
  });

  it('notifies the given action from every alarm', () => {
    const app = appWithoutBundling();
    const topicStack = new Stack(app, 'OnCall');
    const topic = new Topic(topicStack, 'Pager');
    const stack = new PassiveUsersStack(app, 'PassiveUsersStack', {
      checker: { alarmAction: new SnsAction(topic) },
    });
    const alarms = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm'));

    for (const alarm of alarms) {
      const actions = (alarm as { Properties: { AlarmActions?: unknown[] } }).Properties.AlarmActions;
      expect(actions).toHaveLength(1);
      expect(JSON.stringify(actions)).toContain('Pager');
    }
  });

  it('notifies no one when no action is given', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));

    for (const alarm of alarms) {
      expect((alarm as { Properties: Record<string, unknown> }).Properties.AlarmActions).toBeUndefined();
    }
  });
});

describe('dashboard', () => {
  it('shows the job metrics, Lambda health, duration against the timeout and queue depth', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const body = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]);

    for (const metric of [
      metricNames.usersPassivated,
      metricNames.raceSkipped,
      metricNames.exemptSkipped,
      metricNames.malformedItems,
      metricNames.failedUpdates,
      metricNames.lockContended,
      metricNames.runDuration,
      metricNames.runComplete,
      metricNames.runCompleted,
      metricNames.notActiveInIndex,
      metricNames.breakerWindowCrossed,
      metricNames.breakerBacklog,
      'Invocations',
      'Errors',
      'Throttles',
      'Duration',
      'ApproximateNumberOfMessagesVisible',
    ]) {
      expect(body).toContain(`\\"${metric}\\"`);
    }
    expect(body).toMatch(/Function timeout.{0,40}240000|240000.{0,40}Function timeout/);
  });

  it('shows every alarm, the incomplete-runs alarm included, in its alarm status widget', () => {
    const body = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]);
    const alarmIds = Object.keys(template.findResources('AWS::CloudWatch::Alarm'));
    const incompleteRuns = Object.keys(
      ofWorker(
        template.findResources('AWS::CloudWatch::Alarm', {
          Properties: { MetricName: metricNames.runComplete },
        }),
        checkerId,
      ),
    );

    expect(incompleteRuns).toHaveLength(1);
    for (const id of alarmIds) expect(body).toContain(`"${id}"`);
  });

  it('links the dashboard from the stack outputs', () => {
    template.hasOutput('DashboardUrl', {
      Value: {
        'Fn::Join': [
          '',
          Match.arrayWith([Match.stringLikeRegexp('#dashboards:name='), { Ref: Match.anyValue() }]),
        ],
      },
    });
  });
});
